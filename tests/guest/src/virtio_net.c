/*
 * The tiny guest's virtio-net driver (Virtio 1.1, 5.1) on the shared virtio_pci library, polling only:
 * receiveq1 (0), transmitq1 (1) and the control queue (2) with VIRTIO_NET_F_CTRL_VQ, no offloads, no
 * mergeable buffers, so every buffer starts with the 12-byte struct virtio_net_hdr (5.1.6).
 */
#include "virtio_pci.h"
#include "net.h"

/* 5.1.3 feature bits. */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18

/* 5.1.4 struct virtio_net_config. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_S_LINK_UP 1

/* 5.1.6.5 control virtqueue. */
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define VNET_HDR_LEN 12u                 /* struct virtio_net_hdr with VERSION_1 (num_buffers included) */
#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define CTRL_BUF (NET_RING + 0x2000u)
#define CTRL_ACK (NET_RING + 0x2100u)
#define NOWHERE_LEN 0x3000u

static struct vpci_dev vd;
static u32 rx_addr[VPCI_QUEUE_MAX];      /* buffer address by head descriptor */
static u32 rx_cur;                       /* buffer of the frame recv returned */
static u32 rx_posted_count;
static u32 tx_slot;
static u32 tx_pending;
static u8 mac[6];

static void rx_post(u32 addr, u32 len)
{
    u32 l = len;
    int head = vpci_add(&vd, RXQ, &addr, &l, 0, 1);
    if (head >= 0)
        rx_addr[head] = addr;
}

/* Reset and bring-up: features, queues, `rx_posted` receive buffers, DRIVER_OK. */
static int setup(u32 rx_posted)
{
    if (!vpci_init(&vd, 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS | 1u << VIRTIO_NET_F_CTRL_VQ
                            | 1u << VIRTIO_NET_F_CTRL_RX, 0))
        return 0;
    if (!vpci_setup_queue(&vd, RXQ, NET_RING_SIZE, VPCI_AREA(0)) || !vpci_setup_queue(&vd, TXQ, NET_RING_SIZE, VPCI_AREA(1)))
        return 0;
    if (vpci_has_feature(&vd, VIRTIO_NET_F_CTRL_VQ))
        vpci_setup_queue(&vd, CTRLQ, 8, VPCI_AREA(2));
    rx_posted_count = rx_posted;
    for (u32 i = 0; i < rx_posted; i++)
        rx_post(NET_RX_BUF + i * NET_BUF_SIZE, NET_BUF_SIZE);
    tx_slot = 0;
    tx_pending = 0;
    vpci_driver_ok(&vd);
    vpci_kick(&vd, RXQ);
    return 1;
}

static int link_up(void)
{
    if (!vpci_has_feature(&vd, VIRTIO_NET_F_STATUS))
        return 1;
    return vpci_cfg16(&vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

static void tx_reclaim(void)
{
    u32 id, len;
    while (vpci_get_used(&vd, TXQ, &id, &len))
        if (tx_pending)
            tx_pending--;
}

static int send(const u8 *frame, u32 len)
{
    struct deadline dl;
    deadline_set(&dl, 1000);
    tx_reclaim();
    while (vpci_free(&vd, TXQ) == 0) {
        if (expired(&dl) || (vpci_status(&vd) & VIRTIO_CONFIG_S_NEEDS_RESET))
            return 0;
        tx_reclaim();
    }
    u32 buf = NET_TX_BUF + (tx_slot++ % NET_RING_SIZE) * NET_BUF_SIZE;
    u32 flen = len < NET_FRAME_MIN ? NET_FRAME_MIN : len;
    net_zero((void *)buf, VNET_HDR_LEN);
    if (len < NET_FRAME_MIN)
        net_zero((void *)(buf + VNET_HDR_LEN + len), NET_FRAME_MIN - len);
    net_copy((void *)(buf + VNET_HDR_LEN), frame, len);
    u32 l = VNET_HDR_LEN + flen;
    if (vpci_add(&vd, TXQ, &buf, &l, 1, 0) < 0)
        return 0;
    tx_pending++;
    vpci_kick(&vd, TXQ);
    return 1;
}

static const u8 *recv(u32 *len)
{
    u32 id, l;
    if (!vpci_get_used(&vd, RXQ, &id, &l))
        return 0;
    rx_cur = id < VPCI_QUEUE_MAX ? rx_addr[id] : 0;
    if (!rx_cur || l < VNET_HDR_LEN) {
        *len = 0;
        return (const u8 *)NET_RX_BUF;
    }
    *len = l - VNET_HDR_LEN;
    return (const u8 *)(rx_cur + VNET_HDR_LEN);
}

static void recv_done(void)
{
    if (rx_cur) {
        rx_post(rx_cur, NET_BUF_SIZE);
        vpci_kick(&vd, RXQ);
    }
    rx_cur = 0;
}

static void rx_fill(void)
{
    while (rx_posted_count < NET_RING_SIZE) {
        rx_post(NET_RX_BUF + rx_posted_count * NET_BUF_SIZE, NET_BUF_SIZE);
        rx_posted_count++;
    }
    vpci_kick(&vd, RXQ);
}

static void tx_flush(void)
{
    struct deadline dl;
    deadline_set(&dl, 1000);
    while (tx_pending && !expired(&dl))
        tx_reclaim();
}

/* One copy of the frame at NET_BIG; every descriptor points at it, kicks in batches of 8. */
static u32 blast(const u8 *frame, u32 len, u32 count)
{
    u32 buf = NET_BIG;
    net_zero((void *)buf, VNET_HDR_LEN);
    net_copy((void *)(buf + VNET_HDR_LEN), frame, len);
    u32 l = VNET_HDR_LEN + len, sent = 0, batch = 0;
    struct deadline dl;
    deadline_set(&dl, 2000);
    while (sent < count) {
        tx_reclaim();
        if (vpci_free(&vd, TXQ) == 0) {
            if (batch) {
                vpci_kick(&vd, TXQ);
                batch = 0;
            }
            if (expired(&dl))
                break;
            continue;
        }
        if (vpci_add(&vd, TXQ, &buf, &l, 1, 0) < 0)
            break;
        tx_pending++;
        sent++;
        deadline_set(&dl, 2000);
        if (++batch == 8) {
            vpci_kick(&vd, TXQ);
            batch = 0;
        }
    }
    vpci_kick(&vd, TXQ);
    tx_flush();
    return sent;
}

/* ---------------- mode=abuse ---------------- */

/* Waits up to `ms` for a used element on q, then prints what the device did. */
static void report(const char *name, u32 q, u32 ms)
{
    u32 id, len;
    struct deadline dl;
    deadline_set(&dl, ms);
    int got = 0;
    while (!(got = vpci_get_used(&vd, q, &id, &len)) && !expired(&dl))
        if (vpci_status(&vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
            break;
    puts("net: abuse ");
    puts(name);
    if (got) {
        puts(": used len ");
        put_dec(len);
    } else {
        puts(": no completion");
    }
    puts(" status ");
    put_hex_short(vpci_status(&vd));
    putc('\n');
}

static void tx_one(u32 addr, u32 len)
{
    vpci_add(&vd, TXQ, &addr, &len, 1, 0);
    vpci_kick(&vd, TXQ);
}

static void ctrl_cmd(const char *name, u8 cls, u8 cmd, u32 data_len, u32 with_ack)
{
    setup(NET_RING_SIZE);
    if (!vd.q[CTRLQ].size) {
        puts("net: abuse ");
        puts(name);
        putln(": no control queue");
        return;
    }
    volatile u8 *b = (volatile u8 *)CTRL_BUF;
    b[0] = cls;
    b[1] = cmd;
    b[2] = 1;
    *(volatile u8 *)CTRL_ACK = 0xaa;
    u32 addr[2] = {CTRL_BUF, CTRL_ACK};
    u32 len[2] = {2 + data_len, 1};
    vpci_add(&vd, CTRLQ, addr, len, 1, with_ack);
    vpci_kick(&vd, CTRLQ);
    report(name, CTRLQ, 500);
    if (with_ack) {
        puts("net: abuse ");
        puts(name);
        puts(": ack ");
        put_dec(*(volatile u8 *)CTRL_ACK);
        putc('\n');
    }
}

/* Sends an ARP probe to slirp with one RX buffer as given and reports the receive side. */
static void rx_case(const char *name, u32 addr, u32 len)
{
    setup(0);
    rx_post(addr, len);
    vpci_kick(&vd, RXQ);
    u8 probe[64];
    send(probe, net_arp_probe(probe, mac));
    report(name, RXQ, 500);
}

static void abuse(int unsafe)
{
    /*
     * Descriptors the device cannot map: nothing behind the address (three pages: QEMU bounces at most one page of
     * non-RAM at a time, so the mapping fails whatever else is in flight), a length running past RAM.
     */
    setup(NET_RING_SIZE);
    tx_one(NET_NOWHERE, NOWHERE_LEN);
    report("tx-bad-addr", TXQ, 500);
    setup(NET_RING_SIZE);
    tx_one(NET_BIG, 0x7ffff000u);
    report("tx-bad-len", TXQ, 500);
    /* A chain shorter than the header: QEMU 7.2 aborts on it (iov_copy assertion), so only with short=1. */
    if (unsafe) {
        setup(NET_RING_SIZE);
        net_zero((void *)NET_BIG, 16);
        tx_one(NET_BIG, 4);
        report("tx-short-header", TXQ, 500);
    }
    /* A header alone (an empty frame), then a 65550-byte frame of zeros. */
    setup(NET_RING_SIZE);
    tx_one(NET_BIG, VNET_HDR_LEN);
    report("tx-empty-frame", TXQ, 500);
    setup(NET_RING_SIZE);
    net_zero((void *)NET_BIG, VNET_HDR_LEN + 65550);
    tx_one(NET_BIG, VNET_HDR_LEN + 65550);
    report("tx-65550", TXQ, 500);
    /* Receive buffers the frame cannot go into (QEMU 7.2 aborts on one smaller than the header). */
    if (unsafe)
        rx_case("rx-small-buffer", NET_RX_BUF, 8);
    rx_case("rx-bad-addr", NET_NOWHERE, NOWHERE_LEN);
    /* A device-readable receive buffer. */
    setup(0);
    {
        u32 a = NET_RX_BUF, l = NET_BUF_SIZE;
        int head = vpci_add(&vd, RXQ, &a, &l, 1, 0);
        if (head >= 0)
            rx_addr[head] = a;
        vpci_kick(&vd, RXQ);
        u8 probe[64];
        send(probe, net_arp_probe(probe, mac));
        report("rx-readonly-buffer", RXQ, 500);
    }
    /* Control queue: an unknown class, a valid PROMISC on, a chain without room for the ack. */
    ctrl_cmd("ctrl-unknown-class", 0xee, 0, 1, 1);
    ctrl_cmd("ctrl-promisc-on", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1, 1);
    ctrl_cmd("ctrl-short-command", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0, 1);
    ctrl_cmd("ctrl-no-ack", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1, 0);
    /* After a reset the device works again: slirp answers an ARP probe. */
    setup(NET_RING_SIZE);
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

int vnet_open(struct nic *n, u32 rx_posted)
{
    if (!vpci_find(&vd, VIRTIO_ID_NET) || !vd.devcfg)
        return 0;
    if (!setup(rx_posted))
        return 0;
    for (u32 i = 0; i < 6; i++)
        mac[i] = vpci_has_feature(&vd, VIRTIO_NET_F_MAC) ? vpci_cfg8(&vd, VIRTIO_NET_CFG_MAC + i) : 0;
    net_copy(n->mac, mac, 6);
    n->model = "virtio";
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
