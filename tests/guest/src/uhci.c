/*
 * action=uhci: the PIIX3 USB controller (PCI 8086:7020) as a driver probes it (Intel UHCI Design Guide rev 1.1,
 * sections 2.1 and 3): configuration space, global and host controller reset, the root ports with nothing
 * connected, then one SETUP to device address 0 through a queue head; no device answers, so the TD must come
 * back retired with CRC/Time Out and raise the interrupt. One line per check; exits with EXIT_PASS.
 */
#include "guest.h"

#define UHCI_VENDOR 0x8086
#define UHCI_DEVICE 0x7020
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_INTERRUPT 0x8
#define PCI_REVISION_CLASS 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR4 0x20
#define PCI_INTERRUPT_PIN 0x3d
#define SBRN 0x60
#define USB_CLOCK 0x6a
#define LEGSUP 0xc0
#define LEGSUP_RWC 0x8f00
#define LEGSUP_PIRQ_EN 0x2000

/* Section 2.1: I/O registers. */
#define USBCMD 0x00
#define USBSTS 0x02
#define USBINTR 0x04
#define FRNUM 0x06
#define FLBASEADD 0x08
#define SOFMOD 0x0c
#define PORTSC1 0x10
#define PORTSC2 0x12
#define USBCMD_RS 0x01
#define USBCMD_HCRESET 0x02
#define USBCMD_GRESET 0x04
#define USBCMD_CF 0x40
#define USBCMD_MAXP 0x80
#define USBSTS_USBINT 0x01
#define USBSTS_ERROR 0x02
#define USBSTS_HCHALTED 0x20
#define USBSTS_ALL 0x3f
#define USBINTR_TIMEOUT_CRC 0x1
#define USBINTR_IOC 0x4
#define PORTSC_CCS 0x0001
#define PORTSC_CSC 0x0002
#define PORTSC_PED 0x0004
#define PORTSC_PEDC 0x0008
#define PORTSC_PR 0x0200
#define PORTSC_SUSP 0x1000

/* Section 3: link pointers, TD control/status and token. */
#define LINK_T 0x1
#define LINK_Q 0x2
#define TD_C_ERR_SHIFT 27
#define TD_IOC (1u << 24)
#define TD_ACTIVE (1u << 23)
#define TD_CRC_TIMEOUT (1u << 18)
#define TD_ACTLEN 0x7ffu
#define PID_SETUP 0x2d
#define TOKEN_MAXLEN_SHIFT 21

struct uhci_td {
    u32 link;
    u32 ctrl;
    u32 token;
    u32 buffer;
} __attribute__((aligned(16)));

struct uhci_qh {
    u32 head;
    u32 element;
} __attribute__((aligned(16)));

static u32 frame_list[1024] __attribute__((aligned(4096)));
static volatile struct uhci_qh qh;
static volatile struct uhci_td td;
static u8 setup_packet[8] __attribute__((aligned(16))) = { 0x80, 6, 0, 1, 0, 0, 8, 0 }; /* GET_DESCRIPTOR */

static u16 base;

static void sleep_ms(u32 ms)
{
    struct deadline d;
    deadline_set(&d, ms);
    while (!expired(&d))
        ;
}

static inline void outl_port(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static void check(int ok, const char *what)
{
    puts("uhci: ");
    puts(what);
    putln(ok ? " ok" : " FAILED");
    if (!ok)
        fail();
}

static void show(const char *name, u32 v)
{
    puts(" ");
    puts(name);
    puts(" ");
    put_hex_short(v);
}

static int wait_until_clear(u16 reg, u16 bits, u32 ms)
{
    struct deadline d;
    deadline_set(&d, ms);
    while (inw((u16)(base + reg)) & bits)
        if (expired(&d))
            return 0;
    return 1;
}

static u32 find_controller(void)
{
    static const u16 ids[] = { UHCI_DEVICE };
    u32 bdf;
    if (!pci_find(UHCI_VENDOR, ids, 1, &bdf)) {
        putln("uhci: no 8086:7020");
        fail();
    }
    puts("uhci: found at ");
    put_dec(bdf >> 3);
    puts(".");
    put_dec(bdf & 7);
    putc('\n');
    return bdf;
}

static void config_space(u32 bdf)
{
    puts("uhci: config");
    show("id", pci_read32(bdf, 0));
    show("class-rev", pci_read32(bdf, PCI_REVISION_CLASS));
    show("header", pci_read8(bdf, PCI_HEADER_TYPE));
    show("pin", pci_read8(bdf, PCI_INTERRUPT_PIN));
    show("sbrn", pci_read8(bdf, SBRN));
    show("usb-clock", pci_read8(bdf, USB_CLOCK));
    show("subsystem", pci_read32(bdf, 0x2c));
    putc('\n');
    /* A driver's handoff: clear the legacy status bits, then leave only the PIRQD routing enable. */
    pci_write16(bdf, LEGSUP, LEGSUP_RWC);
    puts("uhci: legsup");
    show("after-rwc", pci_read16(bdf, LEGSUP));
    pci_write16(bdf, LEGSUP, LEGSUP_PIRQ_EN);
    show("pirq-enable", pci_read16(bdf, LEGSUP));
    putc('\n');

    u32 bar = pci_read32(bdf, PCI_BAR4);
    pci_write16(bdf, PCI_COMMAND, 0);
    pci_write32(bdf, PCI_BAR4, 0xffffffffu);
    u32 sized = pci_read32(bdf, PCI_BAR4);
    pci_write32(bdf, PCI_BAR4, bar);
    puts("uhci: bar4");
    show("sizing", sized);
    putc('\n');
    check((bar & 1) && (bar & ~3u) != 0, "bar4 is an assigned I/O window");
    base = (u16)(bar & ~3u);
    pci_write16(bdf, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
}

static void print_registers(const char *when)
{
    puts("uhci: ");
    puts(when);
    show("cmd", inw((u16)(base + USBCMD)));
    show("sts", inw((u16)(base + USBSTS)));
    show("intr", inw((u16)(base + USBINTR)));
    show("flbase", inl((u16)(base + FLBASEADD)));
    show("sof", inb((u16)(base + SOFMOD)));
    show("ports", inl((u16)(base + PORTSC1)));
    putc('\n');
}

static void reset_controller(void)
{
    outw((u16)(base + USBCMD), USBCMD_GRESET);
    sleep_ms(11); /* 2.1.1: at least 10 ms of reset signalling */
    outw((u16)(base + USBCMD), 0);
    outw((u16)(base + USBCMD), USBCMD_HCRESET);
    check(wait_until_clear(USBCMD, USBCMD_HCRESET, 100), "hcreset completes");
    print_registers("after reset");
}

static void ports(void)
{
    u16 p = (u16)(base + PORTSC1);
    puts("uhci: port1");
    outw(p, PORTSC_PR);
    show("reset", inw(p));
    outw(p, 0);
    show("released", inw(p));
    outw(p, PORTSC_PED);
    show("enable", inw(p));
    outw(p, PORTSC_SUSP);
    show("suspend", inw(p));
    outw(p, PORTSC_CSC | PORTSC_PEDC);
    show("clear-changes", inw(p));
    outw(p, 0xffff);
    show("all-ones", inw(p));
    outw(p, 0);
    putc('\n');
    check(!((inw(p) | inw((u16)(p + 2))) & (PORTSC_CCS | PORTSC_PED)), "ports show nothing connected");
    puts("uhci: widths");
    outl_port((u16)(base + FLBASEADD), 0x12345678u);
    show("flbase", inl((u16)(base + FLBASEADD)));
    show("sof-byte", inb((u16)(base + SOFMOD)));
    show("odd-byte", inb((u16)(base + USBSTS + 1)));
    show("hole", inw((u16)(base + 0x14)));
    putc('\n');
    outl_port((u16)(base + FLBASEADD), 0);
}

static void schedule(u32 bdf)
{
    for (u32 i = 0; i < 1024; i++)
        frame_list[i] = (u32)&qh | LINK_Q;
    qh.head = LINK_T;
    qh.element = (u32)&td;
    td.link = LINK_T;
    td.ctrl = 3u << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC | TD_ACTLEN;
    td.token = 7u << TOKEN_MAXLEN_SHIFT | PID_SETUP; /* 8 bytes, endpoint 0 of device address 0 */
    td.buffer = (u32)setup_packet;

    outw((u16)(base + FRNUM), 0);
    outl_port((u16)(base + FLBASEADD), (u32)frame_list);
    outw((u16)(base + USBINTR), USBINTR_TIMEOUT_CRC | USBINTR_IOC);
    outw((u16)(base + USBSTS), USBSTS_ALL);
    outw((u16)(base + USBCMD), USBCMD_RS | USBCMD_CF | USBCMD_MAXP);
    check(!(inw((u16)(base + USBSTS)) & USBSTS_HCHALTED), "running");

    struct deadline d;
    deadline_set(&d, 2000);
    while ((td.ctrl & TD_ACTIVE) && !expired(&d))
        ;
    sleep_ms(3); /* the frame's end, where USBINT is reported */
    u16 f1 = inw((u16)(base + FRNUM));
    sleep_ms(5);
    u16 f2 = inw((u16)(base + FRNUM));
    check(f1 != f2, "frnum advances");
    puts("uhci: td");
    show("ctrl", td.ctrl & ~TD_ACTLEN);
    show("errors", (td.ctrl >> TD_C_ERR_SHIFT) & 3);
    putc('\n');
    check(!(td.ctrl & TD_ACTIVE) && (td.ctrl & TD_CRC_TIMEOUT), "setup to address 0 timed out");
    check(qh.element == (u32)&td, "queue not advanced past the failed td");
    u16 sts = inw((u16)(base + USBSTS));
    puts("uhci: status");
    show("sts", sts);
    putc('\n');
    check((sts & (USBSTS_USBINT | USBSTS_ERROR)) == (USBSTS_USBINT | USBSTS_ERROR), "usbint and error set");
    check(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_INTERRUPT, "interrupt asserted on INTD");

    outw((u16)(base + USBCMD), 0);
    sleep_ms(3);
    check(inw((u16)(base + USBSTS)) & USBSTS_HCHALTED, "rs=0 halts");
    u16 f3 = inw((u16)(base + FRNUM));
    sleep_ms(5);
    check(f3 == inw((u16)(base + FRNUM)), "frnum stops");
    outw((u16)(base + USBSTS), USBSTS_USBINT | USBSTS_ERROR);
    puts("uhci: after clear");
    show("sts", inw((u16)(base + USBSTS)));
    putc('\n');
    check(!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_INTERRUPT), "interrupt deasserted");
}

void action_uhci(void)
{
    calibrate_tsc();
    u32 bdf = find_controller();
    config_space(bdf);
    reset_controller();
    ports();
    schedule(bdf);
    putln("uhci: all passed");
    exit_qemu(EXIT_PASS);
}
