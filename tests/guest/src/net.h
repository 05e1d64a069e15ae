/*
 * The tiny guest's network layer: one polled NIC driver (virtio_net.c or e1000.c) behind `struct nic`, and
 * the protocol code in net.c (Ethernet II, ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792), UDP (RFC 768),
 * DHCP (RFC 2131) and a one-connection TCP echo (RFC 793)).
 *
 * Fixed memory (the guest needs -m 128): RX buffers at NET_RX_BUF, TX buffers at NET_TX_BUF, 2 KiB each;
 * NET_BIG holds oversized frames (abuse, blast); NET_RING the e1000 descriptor rings and virtio control buffers.
 */
#ifndef NET_H
#define NET_H

#include "guest.h"

#define NET_RING 0x00540000u
#define NET_RX_BUF 0x00800000u
#define NET_TX_BUF 0x00840000u
#define NET_BIG 0x00900000u
#define NET_BUF_SIZE 2048u
#define NET_RING_SIZE 32u
#define NET_FRAME_MAX 1514u
#define NET_FRAME_MIN 60u
#define NET_NOWHERE 0x40000000u          /* guest-physical address with nothing behind it (-m 128) */

struct nic {
    const char *model;
    u8 mac[6];
    int (*link_up)(void);
    /* Copies the frame (padded to 60 bytes) into a TX buffer and hands it over; 0 when the ring stays full. */
    int (*send)(const u8 *frame, u32 len);
    /* The next received frame (the driver's buffer), or 0; recv_done gives the buffer back. */
    const u8 *(*recv)(u32 *len);
    void (*recv_done)(void);
    /* Posts every RX buffer not posted yet (after opening with fewer). */
    void (*rx_fill)(void);
    /* Waits (bounded) until the device has consumed every TX buffer. */
    void (*tx_flush)(void);
    /* Sends `count` copies of one frame as fast as the device takes them; returns how many it took. */
    u32 (*blast)(const u8 *frame, u32 len, u32 count);
    /* mode=abuse: the malformed cases, one line each; `unsafe` adds the ones QEMU 7.2 aborts on. */
    void (*abuse)(int unsafe);
};

/* Drivers: find, reset and start the device with `rx_posted` RX buffers (at most NET_RING_SIZE). `eecd`: the
 * e1000 reads its MAC by bit-banging EECD even where EERD works (eeprom=eecd). */
int vnet_open(struct nic *n, u32 rx_posted);
int e1000_open(struct nic *n, u32 rx_posted, int eecd);

/* net.c helpers the drivers' abuse cases use. */
void net_copy(void *d, const void *s, u32 n);
void net_zero(void *d, u32 n);
void put_mac(const u8 *mac);
/* An ARP request for 10.0.2.2 from 10.0.2.15 (slirp answers it) into buf; returns its length. */
u32 net_arp_probe(u8 *buf, const u8 *mac);
/* 1 if the frame is an ARP reply from 10.0.2.2. */
int net_is_arp_reply(const u8 *f, u32 len);

/* action=net */
void action_net(const struct boot_info *bi) __attribute__((noreturn));

#endif
