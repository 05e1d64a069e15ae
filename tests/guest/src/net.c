/*
 * action=net: the protocol side of the tiny guest's networking (see net.h), polled: every wait receives and
 * handles frames until its condition holds or its TSC deadline passes.
 *
 *   mode=dhcp    DHCP (RFC 2131) against QEMU's user networking, ARP for the router, ICMP echo to it;
 *                serve=N then echoes UDP and TCP on port 7 for N seconds (or until a "quit" message)
 *   mode=static  ip=, peer=, role=answer|ping, count=: answers or sends ICMP echo requests
 *   mode=link    reports the link state and each change until it has seen down, then up
 *   mode=abuse   the driver's malformed cases (virtio_net.c, e1000.c)
 *   mode=flood   a few RX buffers held, then refilled; counts what arrives
 *   mode=blast   count= frames of size= bytes to dst= port=; mode=sink counts UDP frames on port=
 */
#include "net.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ARP_REQUEST 1
#define ARP_REPLY 2
#define IP_HLEN 20
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define UDP_HLEN 8
#define TCP_HLEN 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67
#define DHCP_MAGIC 0x63825363u
#define DHCP_XID 0x6a766d6du
#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPREQUEST 3
#define DHCPACK 5
#define DHCP_OPT_SUBNET 1
#define DHCP_OPT_ROUTER 3
#define DHCP_OPT_DNS 6
#define DHCP_OPT_REQUESTED_IP 50
#define DHCP_OPT_LEASE 51
#define DHCP_OPT_MSG_TYPE 53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_OPT_PARAMS 55
#define DHCP_OPT_END 255
#define ECHO_PORT 7
#define PING_ID 0x6a76
#define PING_DATA 32
#define TCP_ISS 0x6a766d00u
#define TCP_WINDOW 8192

#define SLIRP_GUEST 0x0a00020fu          /* 10.0.2.15 */
#define SLIRP_HOST 0x0a000202u           /* 10.0.2.2 */

static struct nic nic;
static u32 my_ip;
static const u8 bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static u8 frame[NET_FRAME_MAX + 32];     /* the frame being built */

/* What the handlers learn. */
static u32 arp_want;                     /* IP an ARP request is out for */
static u8 arp_mac[6];
static int arp_done;
static u32 ping_seq_seen;                /* sequence number of the last echo reply */
static u32 answered;                     /* echo requests answered */
static struct {
    int type;
    u32 yiaddr, server, router, dns, mask, lease;
} dhcp;
static int serving;
static int quit;
static u32 sink_port, sink_frames, sink_bytes;
static u32 frames_seen;

/* TCP echo: one connection. */
enum { TCP_LISTEN, TCP_ESTABLISHED, TCP_LAST_ACK };
static struct {
    int state;
    u32 ip;
    u16 port;
    u8 mac[6];
    u32 snd_nxt, rcv_nxt;
} tcp;

/* ---------------- helpers ---------------- */

void net_copy(void *d, const void *s, u32 n)
{
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

void net_zero(void *d, u32 n)
{
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0) : "memory");
}

static u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u32 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }
static int mac_eq(const u8 *a, const u8 *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5]; }

/* RFC 1071 one's complement sum. */
static u32 csum_add(u32 sum, const u8 *p, u32 len)
{
    for (u32 i = 0; i + 1 < len; i += 2)
        sum += (u32)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (u32)p[len - 1] << 8;
    return sum;
}

static u16 csum_fold(u32 sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (u16)~sum;
}

void put_mac(const u8 *mac)
{
    static const char digits[] = "0123456789abcdef";
    for (u32 i = 0; i < 6; i++) {
        if (i)
            putc(':');
        putc(digits[mac[i] >> 4]);
        putc(digits[mac[i] & 0xf]);
    }
}

static void put_ip(u32 ip)
{
    for (int i = 3; i >= 0; i--) {
        put_dec((ip >> (8 * i)) & 0xff);
        if (i)
            putc('.');
    }
}

static int parse_ip(const char *s, u32 *out)
{
    u32 ip = 0;
    for (u32 k = 0; k < 4; k++) {
        u32 v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (u32)(*s++ - '0');
            digits++;
        }
        if (!digits || v > 255 || (k < 3 ? *s++ != '.' : *s != 0))
            return 0;
        ip = ip << 8 | v;
    }
    *out = ip;
    return 1;
}

static u8 *eth_header(u8 *f, const u8 *dst, u16 type)
{
    net_copy(f, dst, 6);
    net_copy(f + 6, nic.mac, 6);
    put16(f + 12, type);
    return f + ETH_HLEN;
}

static u8 *ip_header(u8 *p, u32 src, u32 dst, u8 proto, u32 payload)
{
    static u16 ip_id;
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, IP_HLEN + payload);
    put16(p + 4, ip_id++);
    put16(p + 6, 0);
    p[8] = 64;
    p[9] = proto;
    put16(p + 10, 0);
    put32(p + 12, src);
    put32(p + 16, dst);
    put16(p + 10, csum_fold(csum_add(0, p, IP_HLEN)));
    return p + IP_HLEN;
}

static void send_frame(u32 len)
{
    if (!nic.send(frame, len))
        putln("net: transmit ring stuck");
}

static u32 arp_build(u8 *f, const u8 *mac, u16 op, const u8 *dst_mac, u32 sip, const u8 *tha, u32 tip)
{
    net_copy(f, dst_mac, 6);
    net_copy(f + 6, mac, 6);
    put16(f + 12, ETH_P_ARP);
    u8 *a = f + ETH_HLEN;
    put16(a, 1);
    put16(a + 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    net_copy(a + 8, mac, 6);
    put32(a + 14, sip);
    net_copy(a + 18, tha, 6);
    put32(a + 24, tip);
    return ETH_HLEN + 28;
}

u32 net_arp_probe(u8 *buf, const u8 *mac)
{
    static const u8 zero[6];
    return arp_build(buf, mac, ARP_REQUEST, bcast, SLIRP_GUEST, zero, SLIRP_HOST);
}

int net_is_arp_reply(const u8 *f, u32 len)
{
    return len >= ETH_HLEN + 28 && get16(f + 12) == ETH_P_ARP && get16(f + ETH_HLEN + 6) == ARP_REPLY
           && get32(f + ETH_HLEN + 14) == SLIRP_HOST;
}

static void send_udp(const u8 *dst_mac, u32 src, u32 dst, u16 sport, u16 dport, const u8 *data, u32 len)
{
    u8 *p = ip_header(eth_header(frame, dst_mac, ETH_P_IP), src, dst, IPPROTO_UDP, UDP_HLEN + len);
    put16(p, sport);
    put16(p + 2, dport);
    put16(p + 4, UDP_HLEN + len);
    put16(p + 6, 0);                     /* no checksum (RFC 768) */
    if (data != p + UDP_HLEN)
        net_copy(p + UDP_HLEN, data, len);
    send_frame(ETH_HLEN + IP_HLEN + UDP_HLEN + len);
}

static void send_tcp(u8 flags, const u8 *data, u32 len)
{
    u8 *p = ip_header(eth_header(frame, tcp.mac, ETH_P_IP), my_ip, tcp.ip, IPPROTO_TCP, TCP_HLEN + len);
    put16(p, ECHO_PORT);
    put16(p + 2, tcp.port);
    put32(p + 4, tcp.snd_nxt);
    put32(p + 8, tcp.rcv_nxt);
    p[12] = (TCP_HLEN / 4) << 4;
    p[13] = flags;
    put16(p + 14, TCP_WINDOW);
    put16(p + 16, 0);
    put16(p + 18, 0);
    if (len)
        net_copy(p + TCP_HLEN, data, len);
    u8 pseudo[12];
    put32(pseudo, my_ip);
    put32(pseudo + 4, tcp.ip);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    put16(pseudo + 10, TCP_HLEN + len);
    put16(p + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), p, TCP_HLEN + len)));
    send_frame(ETH_HLEN + IP_HLEN + TCP_HLEN + len);
}

static int is_quit(const u8 *d, u32 len)
{
    return len >= 4 && d[0] == 'q' && d[1] == 'u' && d[2] == 'i' && d[3] == 't';
}

/* ---------------- receive side ---------------- */

static void handle_arp(const u8 *f, u32 len)
{
    if (len < ETH_HLEN + 28)
        return;
    const u8 *a = f + ETH_HLEN;
    if (get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4)
        return;
    u16 op = get16(a + 6);
    u32 sip = get32(a + 14), tip = get32(a + 24);
    if (op == ARP_REQUEST && my_ip && tip == my_ip) {
        send_frame(arp_build(frame, nic.mac, ARP_REPLY, a + 8, my_ip, a + 8, sip));
    } else if (op == ARP_REPLY && arp_want && sip == arp_want && !arp_done) {
        net_copy(arp_mac, a + 8, 6);
        arp_done = 1;
    }
}

static void handle_icmp(const u8 *f, const u8 *ip, const u8 *p, u32 len)
{
    if (len < 8)
        return;
    if (p[0] == ICMP_ECHO_REQUEST && p[1] == 0) {
        /* The reply is the request with the addresses swapped: same id, sequence and data. */
        u8 *q = ip_header(eth_header(frame, f + 6, ETH_P_IP), my_ip, get32(ip + 12), IPPROTO_ICMP, len);
        net_copy(q, p, len);
        q[0] = ICMP_ECHO_REPLY;
        put16(q + 2, 0);
        put16(q + 2, csum_fold(csum_add(0, q, len)));
        send_frame(ETH_HLEN + IP_HLEN + len);
        answered++;
    } else if (p[0] == ICMP_ECHO_REPLY && get16(p + 4) == PING_ID) {
        ping_seq_seen = get16(p + 6);
    }
}

static void handle_dhcp(const u8 *p, u32 len)
{
    if (len < 240 || p[0] != 2 || get32(p + 4) != DHCP_XID || get32(p + 236) != DHCP_MAGIC)
        return;
    if (!mac_eq(p + 28, nic.mac))
        return;
    u32 type = 0, server = 0, router = 0, dns = 0, mask = 0, lease = 0;
    for (u32 i = 240; i < len && p[i] != DHCP_OPT_END;) {
        u8 opt = p[i];
        if (opt == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len)
            break;
        u32 l = p[i + 1];
        const u8 *v = p + i + 2;
        if (i + 2 + l > len)
            break;
        if (opt == DHCP_OPT_MSG_TYPE && l >= 1)
            type = v[0];
        else if (opt == DHCP_OPT_SERVER_ID && l >= 4)
            server = get32(v);
        else if (opt == DHCP_OPT_ROUTER && l >= 4)
            router = get32(v);
        else if (opt == DHCP_OPT_DNS && l >= 4)
            dns = get32(v);
        else if (opt == DHCP_OPT_SUBNET && l >= 4)
            mask = get32(v);
        else if (opt == DHCP_OPT_LEASE && l >= 4)
            lease = get32(v);
        i += 2 + l;
    }
    dhcp.type = (int)type;
    dhcp.yiaddr = get32(p + 16);
    dhcp.server = server;
    dhcp.router = router;
    dhcp.dns = dns;
    dhcp.mask = mask;
    dhcp.lease = lease;
}

static void handle_tcp(const u8 *f, const u8 *ip, const u8 *p, u32 len)
{
    if (len < TCP_HLEN || get16(p + 2) != ECHO_PORT || !serving)
        return;
    u32 hlen = (u32)(p[12] >> 4) * 4;
    if (hlen < TCP_HLEN || hlen > len)
        return;
    u8 flags = p[13];
    u32 seq = get32(p + 4);
    const u8 *data = p + hlen;
    u32 dlen = len - hlen;
    int same = tcp.state != TCP_LISTEN && tcp.ip == get32(ip + 12) && tcp.port == get16(p);
    if (flags & TCP_RST) {
        if (same)
            tcp.state = TCP_LISTEN;
        return;
    }
    if (flags & TCP_SYN) {
        /* A new connection (one at a time: it replaces whatever was there). */
        tcp.ip = get32(ip + 12);
        tcp.port = get16(p);
        net_copy(tcp.mac, f + 6, 6);
        tcp.rcv_nxt = seq + 1;
        tcp.snd_nxt = TCP_ISS;
        send_tcp(TCP_SYN | TCP_ACK, 0, 0);
        tcp.snd_nxt = TCP_ISS + 1;
        tcp.state = TCP_ESTABLISHED;
        return;
    }
    if (!same)
        return;
    if (tcp.state == TCP_LAST_ACK) {
        if (flags & TCP_ACK)
            tcp.state = TCP_LISTEN;
        return;
    }
    if (seq != tcp.rcv_nxt) {
        send_tcp(TCP_ACK, 0, 0);         /* out of order or repeated: say where we are */
        return;
    }
    if (dlen) {
        tcp.rcv_nxt += dlen;
        u32 n = dlen > NET_FRAME_MAX - ETH_HLEN - IP_HLEN - TCP_HLEN ? NET_FRAME_MAX - ETH_HLEN - IP_HLEN - TCP_HLEN : dlen;
        u8 copy[NET_FRAME_MAX];
        net_copy(copy, data, n);
        send_tcp(TCP_ACK | TCP_PSH, copy, n);
        tcp.snd_nxt += n;
        puts("net: tcp echo ");
        put_dec(n);
        putln(" bytes");
        if (is_quit(copy, n))
            quit = 1;
    }
    if (flags & TCP_FIN) {
        tcp.rcv_nxt++;
        send_tcp(TCP_FIN | TCP_ACK, 0, 0);
        tcp.snd_nxt++;
        tcp.state = TCP_LAST_ACK;
        putln("net: tcp connection closed");
    }
}

static void handle_udp(const u8 *f, const u8 *ip, const u8 *p, u32 len)
{
    if (len < UDP_HLEN)
        return;
    u32 ulen = get16(p + 4);
    if (ulen < UDP_HLEN || ulen > len)
        return;
    u16 dport = get16(p + 2);
    const u8 *data = p + UDP_HLEN;
    u32 dlen = ulen - UDP_HLEN;
    if (dport == DHCP_CLIENT_PORT) {
        handle_dhcp(data, dlen);
    } else if (sink_port && dport == sink_port) {
        sink_frames++;
        sink_bytes += dlen;
    } else if (dport == ECHO_PORT && serving) {
        u8 copy[NET_FRAME_MAX];
        net_copy(copy, data, dlen);
        send_udp(f + 6, my_ip, get32(ip + 12), ECHO_PORT, get16(p), copy, dlen);
        puts("net: udp echo ");
        put_dec(dlen);
        putln(" bytes");
        if (is_quit(copy, dlen))
            quit = 1;
    }
}

static void handle_ip(const u8 *f, u32 len)
{
    if (len < ETH_HLEN + IP_HLEN)
        return;
    const u8 *ip = f + ETH_HLEN;
    u32 hlen = (u32)(ip[0] & 0xf) * 4;
    u32 tlen = get16(ip + 2);
    if ((ip[0] >> 4) != 4 || hlen < IP_HLEN || tlen < hlen || ETH_HLEN + tlen > len)
        return;
    if (get16(ip + 6) & 0x3fff)
        return;                          /* fragments are not reassembled */
    u32 dst = get32(ip + 16);
    if (dst != my_ip && dst != 0xffffffffu && my_ip)
        return;
    const u8 *p = ip + hlen;
    u32 plen = tlen - hlen;
    switch (ip[9]) {
    case IPPROTO_ICMP:
        if (my_ip)
            handle_icmp(f, ip, p, plen);
        break;
    case IPPROTO_UDP:
        handle_udp(f, ip, p, plen);
        break;
    case IPPROTO_TCP:
        if (my_ip)
            handle_tcp(f, ip, p, plen);
        break;
    }
}

static void handle(const u8 *f, u32 len)
{
    frames_seen++;
    if (len < ETH_HLEN)
        return;
    u16 type = get16(f + 12);
    if (type == ETH_P_ARP)
        handle_arp(f, len);
    else if (type == ETH_P_IP)
        handle_ip(f, len);
}

/* Handles every frame already there; 1 if there was one. */
static int poll_once(void)
{
    u32 len;
    const u8 *f = nic.recv(&len);
    if (!f)
        return 0;
    handle(f, len);
    nic.recv_done();
    return 1;
}

/* Receives for `ms` or until *flag becomes nonzero; returns *flag. */
static int wait_for(volatile int *flag, u32 ms)
{
    struct deadline dl;
    deadline_set(&dl, ms);
    while (!*flag && !expired(&dl))
        poll_once();
    return *flag;
}

/* ---------------- protocols ---------------- */

static int arp_resolve(u32 ip, u32 tries)
{
    static const u8 zero[6];
    arp_want = ip;
    arp_done = 0;
    for (u32 t = 0; t < tries && !arp_done; t++) {
        send_frame(arp_build(frame, nic.mac, ARP_REQUEST, bcast, my_ip, zero, ip));
        wait_for(&arp_done, 500);
    }
    if (!arp_done)
        return 0;
    puts("net: arp ");
    put_ip(ip);
    puts(" is ");
    put_mac(arp_mac);
    putc('\n');
    return 1;
}

/* ICMP echo with sequence numbers 1..count to ip (MAC from ARP); 3 tries of 1 s per sequence number. */
static int ping(u32 ip, u32 count)
{
    for (u32 seq = 1; seq <= count; seq++) {
        int ok = 0;
        for (u32 t = 0; t < 3 && !ok; t++) {
            u8 *p = ip_header(eth_header(frame, arp_mac, ETH_P_IP), my_ip, ip, IPPROTO_ICMP, 8 + PING_DATA);
            p[0] = ICMP_ECHO_REQUEST;
            p[1] = 0;
            put16(p + 2, 0);
            put16(p + 4, PING_ID);
            put16(p + 6, seq);
            for (u32 i = 0; i < PING_DATA; i++)
                p[8 + i] = (u8)('a' + i % 26);
            put16(p + 2, csum_fold(csum_add(0, p, 8 + PING_DATA)));
            ping_seq_seen = 0;
            send_frame(ETH_HLEN + IP_HLEN + 8 + PING_DATA);
            struct deadline dl;
            deadline_set(&dl, 1000);
            while (ping_seq_seen != seq && !expired(&dl))
                poll_once();
            ok = ping_seq_seen == seq;
        }
        puts("net: ping ");
        put_ip(ip);
        puts(" seq ");
        put_dec(seq);
        putln(ok ? " ok" : " timeout");
        if (!ok)
            return 0;
    }
    return 1;
}

static void dhcp_send(u32 type)
{
    u8 *p = ip_header(eth_header(frame, bcast, ETH_P_IP), 0, 0xffffffffu, IPPROTO_UDP, UDP_HLEN + 300);
    u8 *b = p + UDP_HLEN;
    net_zero(b, 300);
    b[0] = 1;                            /* BOOTREQUEST */
    b[1] = 1;                            /* Ethernet */
    b[2] = 6;
    put32(b + 4, DHCP_XID);
    put16(b + 10, 0x8000);               /* broadcast replies: no address yet */
    net_copy(b + 28, nic.mac, 6);
    put32(b + 236, DHCP_MAGIC);
    u8 *o = b + 240;
    *o++ = DHCP_OPT_MSG_TYPE;
    *o++ = 1;
    *o++ = (u8)type;
    if (type == DHCPREQUEST) {
        *o++ = DHCP_OPT_REQUESTED_IP;
        *o++ = 4;
        put32(o, dhcp.yiaddr);
        o += 4;
        *o++ = DHCP_OPT_SERVER_ID;
        *o++ = 4;
        put32(o, dhcp.server);
        o += 4;
    }
    *o++ = DHCP_OPT_PARAMS;
    *o++ = 4;
    *o++ = DHCP_OPT_SUBNET;
    *o++ = DHCP_OPT_ROUTER;
    *o++ = DHCP_OPT_DNS;
    *o++ = DHCP_OPT_LEASE;
    *o = DHCP_OPT_END;
    send_udp(bcast, 0, 0xffffffffu, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, b, 300);
}

/* DISCOVER until an OFFER, then REQUEST until an ACK; 4 tries of 1 s each. */
static int dhcp_run(void)
{
    for (u32 t = 0; t < 4; t++) {
        dhcp.type = 0;
        dhcp_send(DHCPDISCOVER);
        struct deadline dl;
        deadline_set(&dl, 1000);
        while (dhcp.type != DHCPOFFER && !expired(&dl))
            poll_once();
        if (dhcp.type == DHCPOFFER)
            break;
    }
    if (dhcp.type != DHCPOFFER) {
        putln("net: dhcp no offer");
        return 0;
    }
    u32 offered = dhcp.yiaddr, server = dhcp.server;
    for (u32 t = 0; t < 4; t++) {
        dhcp.yiaddr = offered;
        dhcp.server = server;
        dhcp.type = 0;
        dhcp_send(DHCPREQUEST);
        struct deadline dl;
        deadline_set(&dl, 1000);
        while (dhcp.type != DHCPACK && !expired(&dl))
            poll_once();
        if (dhcp.type == DHCPACK)
            break;
    }
    if (dhcp.type != DHCPACK) {
        putln("net: dhcp no ack");
        return 0;
    }
    my_ip = dhcp.yiaddr;
    puts("net: dhcp ip ");
    put_ip(my_ip);
    puts(" mask ");
    put_ip(dhcp.mask);
    puts(" router ");
    put_ip(dhcp.router);
    puts(" dns ");
    put_ip(dhcp.dns);
    puts(" lease ");
    put_dec(dhcp.lease);
    putc('\n');
    return 1;
}

/* ---------------- modes ---------------- */

static u32 arg_u32(const struct boot_info *bi, const char *key, u32 def)
{
    char buf[16];
    u32 v;
    return cmdline_get(bi->cmdline, key, buf, sizeof(buf)) && parse_u32(buf, &v) ? v : def;
}

static int arg_ip(const struct boot_info *bi, const char *key, u32 *out)
{
    char buf[20];
    return cmdline_get(bi->cmdline, key, buf, sizeof(buf)) && parse_ip(buf, out);
}

static void __attribute__((noreturn)) finish(int ok)
{
    nic.tx_flush();
    exit_qemu(ok ? EXIT_PASS : EXIT_FAIL);
}

/* Echo on UDP and TCP port 7 for `seconds` or until a message starting "quit". */
static void serve(u32 seconds)
{
    puts("net: serving udp and tcp echo on port 7 for ");
    put_dec(seconds);
    putln(" s");
    serving = 1;
    tcp.state = TCP_LISTEN;
    struct deadline dl;
    deadline_set(&dl, seconds * 1000);
    while (!quit && !expired(&dl))
        poll_once();
    serving = 0;
    putln(quit ? "net: serve quit" : "net: serve timeout");
}

static void mode_dhcp(const struct boot_info *bi)
{
    u32 count = arg_u32(bi, "count", 3);
    int ok = dhcp_run() && arp_resolve(dhcp.router, 4) && ping(dhcp.router, count);
    putln(ok ? "net: all passed" : "net: FAILED");
    u32 seconds = arg_u32(bi, "serve", 0);
    if (ok && seconds)
        serve(seconds);
    finish(ok);
}

static void mode_static(const struct boot_info *bi)
{
    u32 peer;
    char role[16];
    if (!arg_ip(bi, "ip", &my_ip) || !arg_ip(bi, "peer", &peer)) {
        putln("net: static needs ip=A.B.C.D peer=A.B.C.D");
        finish(0);
    }
    if (!cmdline_get(bi->cmdline, "role", role, sizeof(role)))
        role[0] = 0;
    u32 count = arg_u32(bi, "count", 3);
    u32 timeout = arg_u32(bi, "timeout", 20);
    puts("net: static ip ");
    put_ip(my_ip);
    puts(" peer ");
    put_ip(peer);
    puts(" role ");
    putln(streq(role, "answer") ? "answer" : "ping");
    if (streq(role, "answer")) {
        struct deadline dl;
        deadline_set(&dl, timeout * 1000);
        while (answered < count && !expired(&dl))
            poll_once();
        puts("net: answered ");
        put_dec(answered);
        putln(" pings");
        finish(answered >= count);
    }
    int ok = arp_resolve(peer, 2 * timeout) && ping(peer, count);
    putln(ok ? "net: all passed" : "net: FAILED");
    finish(ok);
}

static void mode_link(const struct boot_info *bi)
{
    u32 timeout = arg_u32(bi, "timeout", 20);
    putln("net: link waiting");
    int up = nic.link_up() != 0, seen_down = 0;
    struct deadline dl;
    deadline_set(&dl, timeout * 1000);
    while (!expired(&dl)) {
        int now = nic.link_up() != 0;
        if (now != up) {
            up = now;
            putln(up ? "net: link up" : "net: link down");
            if (!up)
                seen_down = 1;
            else if (seen_down)
                break;
        }
        poll_once();
    }
    putln(seen_down && up ? "net: link done" : "net: link timeout");
    finish(seen_down && up);
}

static void mode_flood(const struct boot_info *bi)
{
    u32 hold = arg_u32(bi, "hold", 2000);
    u32 quiet = arg_u32(bi, "quiet", 1000);
    u32 timeout = arg_u32(bi, "timeout", 20);
    puts("net: flood holding 4 buffers for ");
    put_dec(hold);
    putln(" ms");
    struct deadline dl;
    deadline_set(&dl, hold);
    while (!expired(&dl))
        __asm__ volatile("pause");
    nic.rx_fill();
    putln("net: flood receiving");
    /* Counts until the sender has been quiet for `quiet` ms (after the first frame) or the timeout. */
    struct deadline end, idle;
    deadline_set(&end, timeout * 1000);
    deadline_set(&idle, quiet);
    while (!expired(&end)) {
        if (poll_once())
            deadline_set(&idle, quiet);
        else if (frames_seen && expired(&idle))
            break;
    }
    puts("net: flood received ");
    put_dec(frames_seen);
    putln(" frames, alive");
    finish(frames_seen > 0);
}

static void mode_blast(const struct boot_info *bi)
{
    u32 dst, port = arg_u32(bi, "port", 9), count = arg_u32(bi, "count", 1000), size = arg_u32(bi, "size", 1514);
    if (!arg_ip(bi, "ip", &my_ip))
        my_ip = SLIRP_GUEST;
    if (!arg_ip(bi, "dst", &dst))
        dst = SLIRP_HOST;
    if (size < ETH_HLEN + IP_HLEN + UDP_HLEN)
        size = ETH_HLEN + IP_HLEN + UDP_HLEN;
    if (size > NET_FRAME_MAX)
        size = NET_FRAME_MAX;
    if (!arp_resolve(dst, 20)) {
        putln("net: blast no arp reply");
        finish(0);
    }
    u32 dlen = size - ETH_HLEN - IP_HLEN - UDP_HLEN;
    u8 *p = ip_header(eth_header(frame, arp_mac, ETH_P_IP), my_ip, dst, IPPROTO_UDP, UDP_HLEN + dlen);
    put16(p, ECHO_PORT);
    put16(p + 2, port);
    put16(p + 4, UDP_HLEN + dlen);
    put16(p + 6, 0);
    net_zero(p + UDP_HLEN, dlen);
    u64 t0 = now_us();
    u32 sent = nic.blast(frame, size, count);
    u64 t1 = now_us();
    puts("net: blast sent ");
    put_dec(sent);
    putc('\n');
    puts("net: blast ");
    put_dec(sent);
    puts(" frames of ");
    put_dec(size);
    puts(" bytes in ");
    put_u64(t1 - t0);
    putln(" us");
    finish(sent == count);
}

static void mode_sink(const struct boot_info *bi)
{
    sink_port = arg_u32(bi, "port", 9);
    u32 seconds = arg_u32(bi, "time", 10), quiet = arg_u32(bi, "quiet", 1000);
    if (!arg_ip(bi, "ip", &my_ip))
        my_ip = SLIRP_GUEST;
    puts("net: sink on port ");
    put_dec(sink_port);
    putln(" ready");
    struct deadline end, idle;
    deadline_set(&end, seconds * 1000);
    deadline_set(&idle, quiet);
    u64 first = 0, last = 0;
    while (!expired(&end)) {
        u32 before = sink_frames;
        if (poll_once()) {
            if (sink_frames != before) {
                last = now_us();
                if (!first)
                    first = last;
                deadline_set(&idle, quiet);
            }
        } else if (sink_frames && expired(&idle)) {
            break;
        }
    }
    puts("net: sink received ");
    put_dec(sink_frames);
    puts(" frames ");
    put_dec(sink_bytes);
    putln(" bytes");
    puts("net: sink busy for ");
    put_u64(last - first);
    putln(" us");
    finish(sink_frames > 0);
}

void action_net(const struct boot_info *bi)
{
    char model[16], mode[16];
    calibrate_tsc();
    if (!cmdline_get(bi->cmdline, "nic", model, sizeof(model)))
        net_copy(model, "virtio", 7);
    if (!cmdline_get(bi->cmdline, "mode", mode, sizeof(mode)))
        net_copy(mode, "dhcp", 5);
    u32 rx = streq(mode, "flood") ? 4 : NET_RING_SIZE;
    char eeprom[8];
    int eecd = cmdline_get(bi->cmdline, "eeprom", eeprom, sizeof(eeprom)) && streq(eeprom, "eecd");
    int found = streq(model, "e1000") ? e1000_open(&nic, rx, eecd) : streq(model, "virtio") ? vnet_open(&nic, rx) : 0;
    if (!found) {
        puts("net: no ");
        puts(model);
        putln(" nic");
        exit_qemu(EXIT_FAIL);
    }
    puts("net: nic ");
    puts(nic.model);
    puts(" mac ");
    put_mac(nic.mac);
    puts(" link ");
    putln(nic.link_up() ? "up" : "down");
    if (streq(mode, "dhcp"))
        mode_dhcp(bi);
    else if (streq(mode, "static"))
        mode_static(bi);
    else if (streq(mode, "link"))
        mode_link(bi);
    else if (streq(mode, "flood"))
        mode_flood(bi);
    else if (streq(mode, "blast"))
        mode_blast(bi);
    else if (streq(mode, "sink"))
        mode_sink(bi);
    else if (streq(mode, "abuse")) {
        nic.abuse(arg_u32(bi, "unsafe", 0) != 0);
        putln("net: abuse done");
        exit_qemu(EXIT_PASS);
    }
    puts("net: unknown mode ");
    putln(mode);
    exit_qemu(EXIT_FAIL);
}
