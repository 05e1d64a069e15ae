/*
 * A small generic driver for virtio 1.x devices over the modern PCI transport (Virtio 1.1, 4.1), with
 * several split virtqueues (2.6), for the tiny guests. Polling only (interrupts stay off): the caller adds
 * buffers, kicks and polls the used ring. Works on QEMU's transitional devices (0x1000..0x103f) and on
 * modern-only ones (0x1040 + type), through the capabilities only.
 *
 * Memory: each queue lives in a VPCI_QUEUE_AREA-byte area at a guest-physical address the caller gives
 * (descriptor table at +0, available ring at +0x1000, used ring at +0x2000); VPCI_AREA_BASE is a free
 * default region of VPCI_MAX_QUEUES areas (the kernel sits at 1 MiB; virtio_blk.c uses 0x400000..0x430000).
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include "guest.h"
#include "virtio.h"

#define VPCI_MAX_QUEUES 16
#define VPCI_QUEUE_MAX 256               /* the largest ring the library sets up */
#define VPCI_QUEUE_AREA 0x3000u
#define VPCI_AREA_BASE 0x00500000u       /* VPCI_MAX_QUEUES areas: 0x500000 .. 0x530000 */
#define VPCI_AREA(q) (VPCI_AREA_BASE + (u32)(q) * VPCI_QUEUE_AREA)

/* Virtio device types (5) and their transitional PCI device IDs (4.1.2.1). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5

struct vpci_queue {
    u16 size;                            /* 0: not set up */
    u16 avail_idx;                       /* next avail slot (free-running) */
    u16 last_used;                       /* next used element to consume (free-running) */
    u16 free_head;                       /* first free descriptor, 0xffff when none */
    u16 num_free;
    u32 desc, avail, used;               /* ring addresses */
    u32 notify;                          /* this queue's notify address */
};

struct vpci_dev {
    u32 bdf;
    u16 device_id;
    u32 common, isr, devcfg, notify;     /* MMIO addresses from the capabilities */
    u32 notify_mult;
    u32 offered_lo, offered_hi;
    u32 features_lo, features_hi;        /* negotiated */
    u16 num_queues;                      /* what the device reports */
    struct vpci_queue q[VPCI_MAX_QUEUES];
};

/* Finds the first function of virtio device type `type`, enables memory and bus mastering, maps the
 * capabilities. Returns 1, or 0 (nothing printed) when there is none or it lacks a capability. */
int vpci_find(struct vpci_dev *d, u32 type);

/* The same for the virtio function at bdf (its BARs already assigned). */
int vpci_open(struct vpci_dev *d, u32 bdf);

/* Reset (waiting for status 0), ACKNOWLEDGE, DRIVER, reads the offered features, accepts offered & want
 * (VERSION_1 always), FEATURES_OK. Returns 1, or 0 when the device refuses (status FEATURES_OK clear). */
int vpci_init(struct vpci_dev *d, u32 want_lo, u32 want_hi);

/* Sets up queue `index` (size min(max, its maximum)) in the area at `area`; 0 if the queue does not exist. */
int vpci_setup_queue(struct vpci_dev *d, u32 index, u16 max_size, u32 area);

/* DRIVER_OK: the device may now use the queues. */
void vpci_driver_ok(struct vpci_dev *d);

/* Status 0, waiting until the device reads back 0. */
void vpci_reset(struct vpci_dev *d);

u8 vpci_status(struct vpci_dev *d);
int vpci_has_feature(struct vpci_dev *d, u32 bit);

/* Device configuration space (4.1.4.6). */
u8 vpci_cfg8(struct vpci_dev *d, u32 off);
u16 vpci_cfg16(struct vpci_dev *d, u32 off);
u32 vpci_cfg32(struct vpci_dev *d, u32 off);
void vpci_cfg_write32(struct vpci_dev *d, u32 off, u32 v);

/* Adds one buffer made of n_out device-readable then n_in device-writable segments; returns its head
 * descriptor (the id the used ring reports), or -1 when the ring has too few free descriptors. The
 * buffer is visible to the device after vpci_kick (or the next one). */
int vpci_add(struct vpci_dev *d, u32 q, const u32 *addr, const u32 *len, u32 n_out, u32 n_in);

/* Publishes added buffers: the notify write unless the device asked for none (2.6.10.2). */
void vpci_kick(struct vpci_dev *d, u32 q);

/* Publishes and notifies unconditionally. */
void vpci_notify(struct vpci_dev *d, u32 q);

/* Takes the next used element: 1 with its head id and written length (its descriptors are freed), 0 if
 * none is there yet. */
int vpci_get_used(struct vpci_dev *d, u32 q, u32 *id, u32 *len);

/* Polls vpci_get_used until one arrives or timeout_ms passes (0). */
int vpci_wait_used(struct vpci_dev *d, u32 q, u32 timeout_ms, u32 *id, u32 *len);

/* Free descriptors left on queue q. */
u32 vpci_free(struct vpci_dev *d, u32 q);

#endif
