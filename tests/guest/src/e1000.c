/*
 * The tiny guest's e1000 driver (Intel 8254x Family of Gigabit Ethernet Controllers Software Developer's
 * Manual, 82540EM: 13 registers, 3.2 receive and 3.3 transmit descriptors), polling only, legacy descriptors,
 * 2 KiB receive buffers, CRC stripped (RCTL.SECRC), every interrupt masked.
 */
#include "virtio.h"
#include "net.h"

#define E1000_VENDOR 0x8086
#define E1000_DEVICE_82540EM 0x100e

/* 13.4 registers (offsets into BAR0). */
#define E1000_CTRL 0x0000
#define E1000_STATUS 0x0008
#define E1000_EECD 0x0010
#define E1000_EERD 0x0014
#define E1000_MDIC 0x0020
#define E1000_ICR 0x00c0
#define E1000_IMC 0x00d8
#define E1000_RCTL 0x0100
#define E1000_TCTL 0x0400
#define E1000_TIPG 0x0410
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404

#define E1000_CTRL_ASDE (1u << 5)
#define E1000_CTRL_SLU (1u << 6)
#define E1000_CTRL_RST (1u << 26)
#define E1000_STATUS_LU (1u << 1)
#define E1000_EERD_START 1u
#define E1000_EERD_DONE (1u << 4)
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16
#define E1000_EECD_SK 0x1u
#define E1000_EECD_CS 0x2u
#define E1000_EECD_DI 0x4u
#define E1000_EECD_DO 0x8u
#define E1000_EECD_REQ 0x40u
#define E1000_MDIC_REG_SHIFT 16
#define E1000_MDIC_PHY_SHIFT 21
#define E1000_MDIC_OP_WRITE (1u << 26)
#define E1000_MDIC_OP_READ (2u << 26)
#define E1000_MDIC_READY (1u << 28)
#define E1000_MDIC_ERROR (1u << 30)
#define PHY_CTRL 0
#define PHY_CTRL_LOOPBACK 0x4000u
#define E1000_RCTL_EN (1u << 1)
#define E1000_RCTL_UPE (1u << 3)
#define E1000_RCTL_LPE (1u << 5)
#define E1000_RCTL_BAM (1u << 15)
#define E1000_RCTL_SECRC (1u << 26)
#define E1000_TCTL_EN (1u << 1)
#define E1000_TCTL_PSP (1u << 3)
#define E1000_TCTL_CT_SHIFT 4
#define E1000_TCTL_COLD_SHIFT 12
#define E1000_RAH_AV (1u << 31)
#define E1000_ICR_LSC (1u << 2)

/* 3.2.3 / 3.3.3 legacy descriptors. */
struct rx_desc {
    u64 addr;
    u16 length;
    u16 csum;
    u8 status;
    u8 errors;
    u16 special;
} __attribute__((packed));
struct tx_desc {
    u64 addr;
    u16 length;
    u8 cso;
    u8 cmd;
    u8 status;
    u8 css;
    u16 special;
} __attribute__((packed));
#define RXD_STAT_DD 0x01
#define RXD_STAT_EOP 0x02
#define TXD_CMD_EOP 0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS 0x08
#define TXD_STAT_DD 0x01

#define RX_RING NET_RING
#define TX_RING (NET_RING + 0x1000u)
#define N NET_RING_SIZE

static u32 mmio;
static u8 mac[6];
static u32 rx_next, tx_next, rx_posted_count;
static volatile struct rx_desc *const rxd = (volatile struct rx_desc *)RX_RING;
static volatile struct tx_desc *const txd = (volatile struct tx_desc *)TX_RING;

static u32 rd(u32 reg) { return mmio_read32(mmio + reg); }
static void wr(u32 reg, u32 v) { mmio_write32(mmio + reg, v); }

static int eerd_read(u32 word, u16 *out)
{
    wr(E1000_EERD, word << E1000_EERD_ADDR_SHIFT | E1000_EERD_START);
    for (u32 i = 0; i < 10000; i++) {
        u32 v = rd(E1000_EERD);
        if (v & E1000_EERD_DONE) {
            *out = (u16)(v >> E1000_EERD_DATA_SHIFT);
            return 1;
        }
    }
    return 0;
}

/* Microwire READ (opcode 110, 6 address bits: the 82540EM's 64-word EEPROM) bit by bit through EECD. */
static void ee_clock(u32 *eecd)
{
    wr(E1000_EECD, *eecd | E1000_EECD_SK);
    wr(E1000_EECD, *eecd);
}

static u16 eecd_read(u32 word)
{
    u32 e = (rd(E1000_EECD) & ~(E1000_EECD_SK | E1000_EECD_DI)) | E1000_EECD_REQ | E1000_EECD_CS;
    wr(E1000_EECD, e);
    u32 bits = 0x6u << 6 | (word & 0x3f);
    for (int i = 8; i >= 0; i--) {
        e = (bits >> i) & 1 ? e | E1000_EECD_DI : e & ~E1000_EECD_DI;
        wr(E1000_EECD, e);
        ee_clock(&e);
    }
    e &= ~E1000_EECD_DI;
    u16 v = 0;
    for (int i = 0; i < 16; i++) {
        wr(E1000_EECD, e | E1000_EECD_SK);
        v = (u16)(v << 1 | ((rd(E1000_EECD) & E1000_EECD_DO) ? 1 : 0));
        wr(E1000_EECD, e);
    }
    wr(E1000_EECD, e & ~(E1000_EECD_CS | E1000_EECD_REQ));
    return v;
}

static void phy_write(u32 reg, u16 v)
{
    wr(E1000_MDIC, v | reg << E1000_MDIC_REG_SHIFT | 1u << E1000_MDIC_PHY_SHIFT | E1000_MDIC_OP_WRITE);
    for (u32 i = 0; i < 1000 && !(rd(E1000_MDIC) & (E1000_MDIC_READY | E1000_MDIC_ERROR)); i++)
        ;
}

static u16 phy_read(u32 reg)
{
    wr(E1000_MDIC, reg << E1000_MDIC_REG_SHIFT | 1u << E1000_MDIC_PHY_SHIFT | E1000_MDIC_OP_READ);
    for (u32 i = 0; i < 1000; i++) {
        u32 v = rd(E1000_MDIC);
        if (v & (E1000_MDIC_READY | E1000_MDIC_ERROR))
            return (u16)v;
    }
    return 0xffff;
}

static void rx_ring_setup(u32 posted, u32 rctl)
{
    net_zero((void *)RX_RING, N * sizeof(struct rx_desc));
    for (u32 i = 0; i < N; i++)
        rxd[i].addr = NET_RX_BUF + i * NET_BUF_SIZE;
    if (posted > N - 1)
        posted = N - 1;
    rx_next = 0;
    rx_posted_count = posted;
    wr(E1000_RDBAL, RX_RING);
    wr(E1000_RDBAH, 0);
    wr(E1000_RDLEN, N * sizeof(struct rx_desc));
    wr(E1000_RDH, 0);
    wr(E1000_RDT, posted);
    wr(E1000_RCTL, rctl);
}

static void tx_ring_setup(void)
{
    net_zero((void *)TX_RING, N * sizeof(struct tx_desc));
    tx_next = 0;
    wr(E1000_TDBAL, TX_RING);
    wr(E1000_TDBAH, 0);
    wr(E1000_TDLEN, N * sizeof(struct tx_desc));
    wr(E1000_TDH, 0);
    wr(E1000_TDT, 0);
    wr(E1000_TIPG, 10 | 10u << 10 | 10u << 20);
    wr(E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | 0x10u << E1000_TCTL_CT_SHIFT | 0x40u << E1000_TCTL_COLD_SHIFT);
}

/* Device reset, MAC, link, filters, both rings. */
static void setup(u32 rx_posted, u32 rctl_extra)
{
    wr(E1000_CTRL, rd(E1000_CTRL) | E1000_CTRL_RST);
    for (u32 i = 0; i < 10000 && (rd(E1000_CTRL) & E1000_CTRL_RST); i++)
        ;
    wr(E1000_IMC, 0xffffffffu);
    wr(E1000_CTRL, rd(E1000_CTRL) | E1000_CTRL_SLU | E1000_CTRL_ASDE);
    wr(E1000_RAL0, (u32)mac[0] | (u32)mac[1] << 8 | (u32)mac[2] << 16 | (u32)mac[3] << 24);
    wr(E1000_RAH0, (u32)mac[4] | (u32)mac[5] << 8 | E1000_RAH_AV);
    for (u32 i = 0; i < 128; i++)
        wr(E1000_MTA + 4 * i, 0);
    (void)rd(E1000_ICR);
    rx_ring_setup(rx_posted, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC | rctl_extra);
    tx_ring_setup();
}

static int link_up(void)
{
    return (rd(E1000_STATUS) & E1000_STATUS_LU) != 0;
}

static int tx_put(u32 addr, u32 len)
{
    u32 next = (tx_next + 1) % N;
    struct deadline dl;
    deadline_set(&dl, 1000);
    while (rd(E1000_TDH) == next)
        if (expired(&dl))
            return 0;
    volatile struct tx_desc *d = &txd[tx_next];
    d->addr = addr;
    d->length = (u16)len;
    d->cso = 0;
    d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    d->status = 0;
    d->css = 0;
    d->special = 0;
    tx_next = next;
    return 1;
}

static int send(const u8 *frame, u32 len)
{
    u32 buf = NET_TX_BUF + tx_next * NET_BUF_SIZE;
    if (len < NET_FRAME_MIN)
        net_zero((void *)(buf + len), NET_FRAME_MIN - len);
    net_copy((void *)buf, frame, len);
    if (!tx_put(buf, len < NET_FRAME_MIN ? NET_FRAME_MIN : len))
        return 0;
    wr(E1000_TDT, tx_next);
    return 1;
}

static void recv_done(void)
{
    volatile struct rx_desc *d = &rxd[rx_next];
    d->status = 0;
    /* RDT points at the descriptor after the last one given back: the one just consumed. */
    wr(E1000_RDT, rx_next);
    rx_next = (rx_next + 1) % N;
}

static const u8 *recv(u32 *len)
{
    for (u32 guard = 0; guard < N; guard++) {
        volatile struct rx_desc *d = &rxd[rx_next];
        if (!(d->status & RXD_STAT_DD))
            return 0;
        if ((d->status & RXD_STAT_EOP) && !d->errors) {
            *len = d->length;
            return (const u8 *)(u32)d->addr;
        }
        /* A frame spread over several buffers or with errors: dropped. */
        recv_done();
    }
    return 0;
}

static void rx_fill(void)
{
    rx_posted_count = N - 1;
    wr(E1000_RDT, (rx_next + N - 1) % N);
}

static void tx_flush(void)
{
    struct deadline dl;
    deadline_set(&dl, 1000);
    while (rd(E1000_TDH) != tx_next && !expired(&dl))
        ;
}

static u32 blast(const u8 *frame, u32 len, u32 count)
{
    net_copy((void *)NET_BIG, frame, len);
    u32 sent = 0;
    while (sent < count) {
        u32 batch = 0;
        while (sent < count && batch < N / 2 && tx_put(NET_BIG, len)) {
            sent++;
            batch++;
        }
        if (!batch)
            break;
        wr(E1000_TDT, tx_next);
    }
    tx_flush();
    return sent;
}

/* ---------------- mode=abuse ---------------- */

static void line_start(const char *name)
{
    puts("net: abuse ");
    puts(name);
    puts(": ");
}

/* Where the transmit side stands after a case: head, tail and descriptor 0's status. */
static void tx_report(const char *name)
{
    line_start(name);
    puts("tdh ");
    put_dec(rd(E1000_TDH));
    puts(" tdt ");
    put_dec(rd(E1000_TDT));
    puts(" tdlen ");
    put_hex_short(rd(E1000_TDLEN));
    puts(" desc0 status ");
    put_hex_short(txd[0].status);
    putc('\n');
}

/* Busy-waits `ms`: QEMU's e1000 holds received frames back for a second after every RCTL write. */
static void settle(u32 ms)
{
    struct deadline dl;
    deadline_set(&dl, ms);
    while (!expired(&dl))
        __asm__ volatile("pause");
}

#define RCTL_SETTLE_MS 1100

/* Loopback through the PHY (BMCR bit 14): what a frame of `len` bytes turns into on the receive side. */
static void loop_case(const char *name, u32 len)
{
    u8 *f = (u8 *)NET_BIG;
    net_zero(f, len);
    net_copy(f, mac, 6);
    net_copy(f + 6, mac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;                        /* IEEE local experimental EtherType */
    u32 t = tx_next;
    txd[t].status = 0;
    tx_put(NET_BIG, len);
    wr(E1000_TDT, tx_next);
    settle(100);
    u32 descs = 0, bytes = 0, last_status = 0;
    while (descs < N && (rxd[rx_next].status & RXD_STAT_DD)) {
        descs++;
        bytes += rxd[rx_next].length;
        last_status = rxd[rx_next].status;
        recv_done();
    }
    line_start(name);
    puts("tx desc status ");
    put_hex_short(txd[t].status);
    puts(" rx descriptors ");
    put_dec(descs);
    puts(" bytes ");
    put_dec(bytes);
    puts(" last status ");
    put_hex_short(last_status);
    puts(" rdh ");
    put_dec(rd(E1000_RDH));
    puts(" rdt ");
    put_dec(rd(E1000_RDT));
    puts(" rctl ");
    put_hex_short(rd(E1000_RCTL));
    putc('\n');
}

/* A fresh device in PHY loopback with RCTL as given, once QEMU's receive pause after the RCTL write is over. */
static void loopback_on(u32 rctl_extra)
{
    setup(N - 1, rctl_extra);
    phy_write(PHY_CTRL, (u16)(phy_read(PHY_CTRL) | PHY_CTRL_LOOPBACK));
    settle(RCTL_SETTLE_MS);
}

static void abuse(int unsafe)
{
    (void)unsafe;
    /* A frame from an address with no RAM behind it. */
    setup(N - 1, 0);
    tx_put(NET_NOWHERE, 64);
    wr(E1000_TDT, tx_next);
    tx_report("tx-outside-ram");
    /* TDLEN keeps bits 7..19 only; 0 leaves a ring of no descriptors, then TDT moves. */
    setup(N - 1, 0);
    wr(E1000_TDLEN, 0x12345);
    line_start("tdlen-mask");
    puts("tdlen ");
    put_hex_short(rd(E1000_TDLEN));
    putc('\n');
    wr(E1000_TDLEN, 0);
    wr(E1000_TDH, 0);
    txd[0].addr = NET_TX_BUF;
    txd[0].length = 60;
    txd[0].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    net_zero((void *)NET_TX_BUF, 60);
    wr(E1000_TDT, 1);
    tx_report("tdlen-0");
    /* A tail far beyond an 8-descriptor ring of empty descriptors. */
    setup(N - 1, 0);
    wr(E1000_TDLEN, 8 * sizeof(struct tx_desc));
    wr(E1000_TDT, 100);
    tx_report("tdt-beyond-ring");
    /* Frames below the Ethernet minimum and jumbo frames, seen through PHY loopback. */
    loopback_on(0);
    loop_case("runt-20", 20);
    loop_case("frame-1514", 1514);
    loop_case("frame-1522", 1522);
    loop_case("jumbo-9000", 9000);
    loopback_on(E1000_RCTL_LPE);
    loop_case("jumbo-9000-lpe", 9000);
    loop_case("frame-16384-lpe", 16384);
    loop_case("frame-16400-lpe", 16400);
    phy_write(PHY_CTRL, (u16)(phy_read(PHY_CTRL) & ~PHY_CTRL_LOOPBACK));
    /* After a reset the device works again: slirp answers an ARP probe. */
    setup(N - 1, 0);
    settle(RCTL_SETTLE_MS);
    u8 probe[64];
    send(probe, net_arp_probe(probe, mac));
    struct deadline dl;
    deadline_set(&dl, 2000);
    int ok = 0;
    while (!ok && !expired(&dl)) {
        u32 len;
        const u8 *f = recv(&len);
        if (f) {
            ok = net_is_arp_reply(f, len);
            recv_done();
        }
    }
    putln(ok ? "net: abuse device works after reset" : "net: abuse device silent after reset");
}

int e1000_open(struct nic *n, u32 rx_posted, int eecd)
{
    static const u16 ids[] = {E1000_DEVICE_82540EM};
    u32 bdf;
    if (!pci_find(E1000_VENDOR, ids, 1, &bdf))
        return 0;
    u32 bar = pci_read32(bdf, PCI_BAR0);
    if (bar & 1)
        return 0;
    mmio = bar & ~0xfu;
    pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    wr(E1000_CTRL, rd(E1000_CTRL) | E1000_CTRL_RST);
    for (u32 i = 0; i < 10000 && (rd(E1000_CTRL) & E1000_CTRL_RST); i++)
        ;
    for (u32 w = 0; w < 3; w++) {
        u16 v;
        if (eecd || !eerd_read(w, &v))
            v = eecd_read(w);
        mac[2 * w] = (u8)v;
        mac[2 * w + 1] = (u8)(v >> 8);
    }
    setup(rx_posted, 0);
    net_copy(n->mac, mac, 6);
    n->model = "e1000";
    n->link_up = link_up;
    n->send = send;
    n->recv = recv;
    n->recv_done = recv_done;
    n->rx_fill = rx_fill;
    n->tx_flush = tx_flush;
    n->blast = blast;
    n->abuse = abuse;
    return 1;
}
