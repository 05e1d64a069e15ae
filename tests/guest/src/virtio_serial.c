/*
 * virtio-serial guest actions over virtio_pci.c (Virtio 1.1, 5.3: MULTIPORT, control queues):
 *   action=vserial        handshake, open every port, "hello" on each host-open port, echo on echo= ports
 *                         until "bye\n", then close every port
 *   action=vserial-abuse  handshake, malformed control messages, then the echo as above
 *   action=vserial-tx     handshake, open port=N, send bytes=B (a 64 KiB pattern block repeated), close
 *   action=vserial-rx     handshake, open port=N, receive bytes=B without looking at them, send "done\n"
 * Options: echo=LIST (port numbers), bufsize= (receive/transmit buffer bytes, default 4096), linger=ms
 * (wait before exiting), emerg=1 (emergency-write "!\n"), timeout=ms, ctrlwait=ms.
 * Echo is zero-copy: a filled receive buffer goes back out as a transmit buffer, then is posted again.
 * Control messages are printed as they arrive: "vserial: ctrl port=N EVENT value=V [name=S]".
 */
#include "guest.h"
#include "virtio_pci.h"

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define CFG_MAX_NR_PORTS 4
#define CFG_EMERG_WR 8

#define DEVICE_READY 0
#define DEVICE_ADD 1
#define DEVICE_REMOVE 2
#define PORT_READY 3
#define CONSOLE_PORT 4
#define RESIZE 5
#define PORT_OPEN 6
#define PORT_NAME 7

#define CTRL_RXQ 2
#define CTRL_TXQ 3
#define MAX_PORTS 7                       /* queues 0..15 of the library: ports 0..6 */
#define CTRL_BUFS 16
#define CTRL_BUF_SIZE 256
#define CTRL_RX_BASE 0x00540000u
#define CTRL_TX_BASE 0x00548000u          /* 64 bytes per message slot, CTRL_TX_SLOTS of them */
#define CTRL_TX_SLOTS 32
#define PORT_BASE 0x00600000u             /* per port: PORT_SPAN bytes of buffers */
#define PORT_SPAN 0x00080000u
#define NBUF 8

static struct vpci_dev vs;
static u32 max_nr_ports;
static int port_added[MAX_PORTS];
static int host_open[MAX_PORTS];
static u32 nports_added;
static u32 buf_size = 4096;
static u32 ctrl_tx_next;
/* per port, per buffer: 0 free, 1 posted for receive, 2 posted for transmit */
static u8 buf_state[MAX_PORTS][NBUF];
static u16 buf_head[MAX_PORTS][NBUF];

static u32 rxq(u32 nr) { return nr == 0 ? 0 : 2 + 2 * nr; }
static u32 txq(u32 nr) { return nr == 0 ? 1 : 3 + 2 * nr; }
static u32 buf_addr(u32 nr, u32 i) { return PORT_BASE + nr * PORT_SPAN + i * buf_size; }

static void vs_fail(const char *what)
{
    puts("vserial: ");
    putln(what);
    fail();
}

static u32 opt(const struct boot_info *bi, const char *key, u32 dflt)
{
    char buf[16];
    u32 v;
    if (!cmdline_get(bi->cmdline, key, buf, sizeof(buf)))
        return dflt;
    if (!parse_u32(buf, &v))
        vs_fail("bad option value");
    return v;
}

static const char *event_name(u32 e)
{
    switch (e) {
    case DEVICE_READY: return "DEVICE_READY";
    case DEVICE_ADD: return "PORT_ADD";
    case DEVICE_REMOVE: return "PORT_REMOVE";
    case PORT_READY: return "PORT_READY";
    case CONSOLE_PORT: return "CONSOLE_PORT";
    case RESIZE: return "RESIZE";
    case PORT_OPEN: return "PORT_OPEN";
    case PORT_NAME: return "PORT_NAME";
    default: return "?";
    }
}

static void post_ctrl_rx(u32 i)
{
    u32 a = CTRL_RX_BASE + i * CTRL_BUF_SIZE;
    u32 l = CTRL_BUF_SIZE;
    if (vpci_add(&vs, CTRL_RXQ, &a, &l, 0, 1) < 0)
        vs_fail("control receive queue full");
}

/* Sends a raw control message of len bytes (abuse uses odd lengths) and waits for the device to take it. */
static void send_raw(const u8 *msg, u32 len)
{
    u32 a = CTRL_TX_BASE + (ctrl_tx_next++ % CTRL_TX_SLOTS) * 64, id, ulen;
    memcpy((void *)a, msg, len);
    if (vpci_add(&vs, CTRL_TXQ, &a, &len, 1, 0) < 0)
        vs_fail("control transmit queue full");
    vpci_kick(&vs, CTRL_TXQ);
    if (!vpci_wait_used(&vs, CTRL_TXQ, 2000, &id, &ulen))
        vs_fail("control message not consumed");
}

static void send_ctrl(u32 port, u16 event, u16 value)
{
    u8 m[8];
    m[0] = (u8)port; m[1] = (u8)(port >> 8); m[2] = (u8)(port >> 16); m[3] = (u8)(port >> 24);
    m[4] = (u8)event; m[5] = (u8)(event >> 8);
    m[6] = (u8)value; m[7] = (u8)(value >> 8);
    send_raw(m, 8);
}

/* Handles and prints one control message if one has arrived; returns whether there was one. */
static int ctrl_once(void)
{
    u32 id, len;
    if (!vpci_get_used(&vs, CTRL_RXQ, &id, &len))
        return 0;
    /* buffers are one descriptor each: the head's address tells the slot */
    u32 addr = *(volatile u32 *)(vs.q[CTRL_RXQ].desc + id * 16);
    u32 slot = (addr - CTRL_RX_BASE) / CTRL_BUF_SIZE;
    if (addr < CTRL_RX_BASE || slot >= CTRL_BUFS)
        vs_fail("control buffer not found");
    volatile u8 *m = (volatile u8 *)(CTRL_RX_BASE + slot * CTRL_BUF_SIZE);
    if (len < 8) {
        puts("vserial: short control message ");
        put_dec(len);
        putln("");
    } else {
        u32 port = m[0] | m[1] << 8 | m[2] << 16 | (u32)m[3] << 24;
        u32 event = m[4] | m[5] << 8;
        u32 value = m[6] | m[7] << 8;
        puts("vserial: ctrl port=");
        put_dec(port);
        puts(" ");
        puts(event_name(event));
        puts(" value=");
        put_dec(value);
        if (event == PORT_NAME) {
            puts(" name=");
            for (u32 k = 8; k < len && m[k]; k++)
                putc((char)m[k]);
        }
        putln("");
        if (port < MAX_PORTS) {
            if (event == DEVICE_ADD && !port_added[port]) {
                port_added[port] = 1;
                nports_added++;
            } else if (event == PORT_OPEN) {
                host_open[port] = value != 0;
            }
        }
    }
    post_ctrl_rx(slot);
    vpci_kick(&vs, CTRL_RXQ);
    return 1;
}

/* Handles and prints the control messages that arrive within ms (returns how many). */
static u32 poll_ctrl(u32 ms)
{
    struct deadline dl;
    u32 n = 0;
    deadline_set(&dl, ms);
    while (!expired(&dl)) {
        if (ctrl_once())
            n++;
        else
            __asm__ volatile("pause");
    }
    return n;
}

static void post_rx(u32 nr, u32 i)
{
    u32 a = buf_addr(nr, i), l = buf_size;
    int h = vpci_add(&vs, rxq(nr), &a, &l, 0, 1);
    if (h < 0)
        vs_fail("receive queue full");
    buf_head[nr][i] = (u16)h;
    buf_state[nr][i] = 1;
}

static int post_tx(u32 nr, u32 i, u32 len)
{
    u32 a = buf_addr(nr, i);
    int h = vpci_add(&vs, txq(nr), &a, &len, 1, 0);
    if (h < 0)
        return 0;
    buf_head[nr][i] = (u16)h;
    buf_state[nr][i] = 2;
    return 1;
}

static int buf_of(u32 nr, u32 head, u8 state)
{
    for (u32 i = 0; i < NBUF; i++)
        if (buf_state[nr][i] == state && buf_head[nr][i] == head)
            return (int)i;
    return -1;
}

/* Reset, features, queues for ports 0..MAX_PORTS-1 that exist, control buffers, DRIVER_OK, DEVICE_READY. */
static void handshake(const struct boot_info *bi)
{
    if (!vpci_find(&vs, VIRTIO_ID_CONSOLE))
        vs_fail("no virtio-serial device");
    if (!vpci_init(&vs, 1u << VIRTIO_CONSOLE_F_MULTIPORT | 1u << VIRTIO_CONSOLE_F_EMERG_WRITE, 0))
        vs_fail("features refused");
    puts("vserial: offered ");
    put_hex(vs.offered_lo);
    puts(" queues ");
    put_dec(vs.num_queues);
    max_nr_ports = vpci_cfg32(&vs, CFG_MAX_NR_PORTS);
    puts(" max_nr_ports ");
    put_dec(max_nr_ports);
    putln("");
    if (!vpci_has_feature(&vs, VIRTIO_CONSOLE_F_MULTIPORT))
        vs_fail("no MULTIPORT");
    buf_size = opt(bi, "bufsize", 4096);
    if (buf_size < 16 || buf_size * NBUF > PORT_SPAN - 4096)
        vs_fail("bad bufsize");
    for (u32 nr = 0; nr < MAX_PORTS && nr < max_nr_ports; nr++) {
        if (!vpci_setup_queue(&vs, rxq(nr), 64, VPCI_AREA(rxq(nr))) || !vpci_setup_queue(&vs, txq(nr), 64, VPCI_AREA(txq(nr))))
            vs_fail("port queue missing");
        if (nr == 0) {
            if (!vpci_setup_queue(&vs, CTRL_RXQ, 32, VPCI_AREA(CTRL_RXQ))
                || !vpci_setup_queue(&vs, CTRL_TXQ, 32, VPCI_AREA(CTRL_TXQ)))
                vs_fail("control queue missing");
        }
    }
    for (u32 i = 0; i < CTRL_BUFS; i++)
        post_ctrl_rx(i);
    vpci_driver_ok(&vs);
    vpci_kick(&vs, CTRL_RXQ);
    send_ctrl(0, DEVICE_READY, 1);
    poll_ctrl(opt(bi, "ctrlwait", 400));
    /* PORT_READY one port at a time, so the answers come in a fixed order on every VMM */
    for (u32 nr = 0; nr < MAX_PORTS; nr++) {
        if (!port_added[nr])
            continue;
        for (u32 i = 0; i < NBUF; i++)
            post_rx(nr, i);
        vpci_kick(&vs, rxq(nr));
        send_ctrl(nr, PORT_READY, 1);
        poll_ctrl(opt(bi, "ctrlwait", 400));
    }
}

static void open_port(u32 nr, int open)
{
    send_ctrl(nr, PORT_OPEN, (u16)open);
}

/* Writes a string on a port and waits for the device to take it. */
static void port_write(u32 nr, const char *s)
{
    u32 a = PORT_BASE + nr * PORT_SPAN + PORT_SPAN - 256, l = strlen(s), id, len;
    memcpy((void *)a, s, l);
    if (vpci_add(&vs, txq(nr), &a, &l, 1, 0) < 0)
        vs_fail("transmit queue full");
    vpci_kick(&vs, txq(nr));
    if (!vpci_wait_used(&vs, txq(nr), 5000, &id, &len))
        vs_fail("transmit not consumed");
}

/* Echoes everything received on the ports in mask until each has sent "bye\n" (or timeout ms). */
static void echo(u32 mask, u32 timeout_ms)
{
    u32 tail[MAX_PORTS], total[MAX_PORTS], done = 0;
    struct deadline dl;
    memset(tail, 0, sizeof(tail));
    memset(total, 0, sizeof(total));
    deadline_set(&dl, timeout_ms);
    while (done != mask) {
        if (expired(&dl)) {
            puts("vserial: echo timed out, mask done ");
            put_hex_short(done);
            putln("");
            fail();
        }
        /* the host side may leave and come back meanwhile (PORT_OPEN 0 / 1) */
        int progress = ctrl_once();
        for (u32 nr = 0; nr < MAX_PORTS; nr++) {
            if (!(mask >> nr & 1))
                continue;
            u32 id, len;
            while (vpci_get_used(&vs, txq(nr), &id, &len)) {
                int b = buf_of(nr, id, 2);
                if (b >= 0) {
                    post_rx(nr, (u32)b);
                    vpci_kick(&vs, rxq(nr));
                }
                progress = 1;
            }
            while (vpci_get_used(&vs, rxq(nr), &id, &len)) {
                int b = buf_of(nr, id, 1);
                if (b < 0)
                    vs_fail("unknown receive buffer");
                volatile u8 *p = (volatile u8 *)buf_addr(nr, (u32)b);
                for (u32 k = len > 4 ? len - 4 : 0; k < len; k++)
                    tail[nr] = tail[nr] << 8 | p[k];
                total[nr] += len;
                if (len == 0 || !post_tx(nr, (u32)b, len)) {
                    post_rx(nr, (u32)b);
                    vpci_kick(&vs, rxq(nr));
                } else {
                    vpci_kick(&vs, txq(nr));
                }
                if (tail[nr] == ('b' << 24 | 'y' << 16 | 'e' << 8 | '\n'))
                    done |= 1u << nr;
                progress = 1;
            }
        }
        if (!progress)
            __asm__ volatile("pause");
    }
    /* the last echoes must leave before the ports close */
    for (u32 nr = 0; nr < MAX_PORTS; nr++) {
        if (!(mask >> nr & 1))
            continue;
        struct deadline d2;
        deadline_set(&d2, 5000);
        for (;;) {
            int busy = 0;
            u32 id, len;
            while (vpci_get_used(&vs, txq(nr), &id, &len)) {
                int b = buf_of(nr, id, 2);
                if (b >= 0)
                    post_rx(nr, (u32)b);
            }
            for (u32 i = 0; i < NBUF; i++)
                busy |= buf_state[nr][i] == 2;
            if (!busy || expired(&d2))
                break;
        }
        puts("vserial: port ");
        put_dec(nr);
        puts(" echoed ");
        put_dec(total[nr]);
        putln(" bytes");
    }
}

static u32 parse_mask(const struct boot_info *bi)
{
    char buf[32];
    u32 mask = 0;
    if (!cmdline_get(bi->cmdline, "echo", buf, sizeof(buf)))
        return 0;
    for (char *p = buf; *p; p++)
        if (*p >= '0' && *p < '0' + MAX_PORTS)
            mask |= 1u << (*p - '0');
    return mask;
}

static void open_all(int open)
{
    for (u32 nr = 0; nr < MAX_PORTS; nr++)
        if (port_added[nr])
            open_port(nr, open);
    poll_ctrl(100);
}

static void abuse(void)
{
    u8 m[12];
    /* a short message: ignored */
    m[0] = 1; m[1] = 0; m[2] = 0; m[3] = 0;
    send_raw(m, 4);
    /* an unknown event on a real port */
    send_ctrl(1, 99, 1);
    /* port ids that do not exist, in range and far out of it */
    send_ctrl(5, PORT_OPEN, 1);
    send_ctrl(1000, PORT_OPEN, 1);
    send_ctrl(0xffffffffu, PORT_READY, 1);
    /* events only the device sends, from the guest */
    send_ctrl(1, DEVICE_ADD, 1);
    send_ctrl(1, PORT_NAME, 1);
    /* failure reports */
    send_ctrl(0, DEVICE_READY, 0);
    send_ctrl(1, PORT_READY, 0);
    /* a long message: only its header counts */
    memset(m, 0, sizeof(m));
    m[0] = 1; m[4] = 99;
    send_raw(m, sizeof(m));
    poll_ctrl(200);
    if (vpci_status(&vs) & VIRTIO_CONFIG_S_NEEDS_RESET)
        vs_fail("device needs reset after abuse");
    putln("vserial: abuse ignored");
}

/* Sends bytes from a 64 KiB pattern block (bufsize-sized transmit buffers, NBUF in flight). */
static void bulk_tx(u32 nr, u32 bytes)
{
    u32 base = buf_addr(nr, 0);
    for (u32 i = 0; i < NBUF * buf_size; i += 4)
        *(volatile u32 *)(base + i) = 0x01010101u * ((i >> 2) & 0xff) ^ i;
    u32 sent = 0, inflight = 0, id, len;
    u32 next = 0;
    struct deadline dl;
    deadline_set(&dl, 120000);
    while (sent < bytes || inflight) {
        while (sent < bytes && inflight < NBUF) {
            u32 l = bytes - sent < buf_size ? bytes - sent : buf_size;
            u32 a = buf_addr(nr, next);
            if (vpci_add(&vs, txq(nr), &a, &l, 1, 0) < 0)
                break;
            next = (next + 1) % NBUF;
            sent += l;
            inflight++;
        }
        vpci_kick(&vs, txq(nr));
        while (vpci_get_used(&vs, txq(nr), &id, &len))
            inflight--;
        if (expired(&dl))
            vs_fail("bulk transmit timed out");
    }
    puts("vserial: sent ");
    put_dec(bytes);
    putln(" bytes");
}

/* Receives bytes on port nr (buffers re-posted at once, contents unread), then writes "done\n". */
static void bulk_rx(u32 nr, u32 bytes)
{
    u32 got = 0, id, len;
    struct deadline dl;
    deadline_set(&dl, 120000);
    while (got < bytes) {
        if (vpci_get_used(&vs, rxq(nr), &id, &len)) {
            int b = buf_of(nr, id, 1);
            if (b < 0)
                vs_fail("unknown receive buffer");
            got += len;
            post_rx(nr, (u32)b);
            vpci_kick(&vs, rxq(nr));
        } else if (expired(&dl)) {
            vs_fail("bulk receive timed out");
        }
    }
    port_write(nr, "done\n");
    puts("vserial: received ");
    put_dec(got);
    putln(" bytes");
}

void action_vserial(const struct boot_info *bi, const char *action)
{
    calibrate_tsc();
    handshake(bi);
    if (streq(action, "vserial-abuse"))
        abuse();
    if (streq(action, "vserial-tx") || streq(action, "vserial-rx")) {
        u32 nr = opt(bi, "port", 1);
        if (nr >= MAX_PORTS || !port_added[nr])
            vs_fail("no such port");
        open_port(nr, 1);
        poll_ctrl(100);
        if (streq(action, "vserial-tx"))
            bulk_tx(nr, opt(bi, "bytes", 1 << 20));
        else
            bulk_rx(nr, opt(bi, "bytes", 1 << 20));
        open_port(nr, 0);
        putln("vserial: done");
        exit_qemu(EXIT_PASS);
    }
    open_all(1);
    for (u32 nr = 0; nr < MAX_PORTS; nr++) {
        if (port_added[nr] && host_open[nr]) {
            char msg[] = "hello from port N\n";
            msg[16] = (char)('0' + nr);
            port_write(nr, msg);
        }
    }
    if (vpci_has_feature(&vs, VIRTIO_CONSOLE_F_EMERG_WRITE) && opt(bi, "emerg", 0)) {
        vpci_cfg_write32(&vs, CFG_EMERG_WR, '!');
        vpci_cfg_write32(&vs, CFG_EMERG_WR, '\n');
    }
    u32 mask = parse_mask(bi);
    if (mask)
        echo(mask, opt(bi, "timeout", 20000));
    open_all(0);
    putln("vserial: done");
    /* linger=ms: stay up so rate-limited events (the ports' closing VSERPORT_CHANGE) go out first */
    u32 linger = opt(bi, "linger", 0);
    if (linger) {
        struct deadline dl;
        deadline_set(&dl, linger);
        while (!expired(&dl))
            __asm__ volatile("pause");
    }
    exit_qemu(EXIT_PASS);
}
