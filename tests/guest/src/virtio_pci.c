/*
 * Generic virtio 1.x modern PCI driver for the tiny guests (see virtio_pci.h): capabilities (4.1.4),
 * initialisation (3.1.1), split virtqueues (2.6) with a descriptor free list, polling only.
 */
#include "virtio_pci.h"

static inline u8 rd8(u32 a) { return *(volatile u8 *)a; }
static inline u16 rd16(u32 a) { return *(volatile u16 *)a; }
static inline u32 rd32(u32 a) { return *(volatile u32 *)a; }
static inline void wr8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static inline void wr16(u32 a, u16 v) { *(volatile u16 *)a = v; }
static inline void wr32(u32 a, u32 v) { *(volatile u32 *)a = v; }
static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }
/* Store-load fence: a locked add, which the instruction emulator handles (unlike mfence in places). */
static inline void full_fence(void) { __asm__ volatile("lock; addl $0, (%%esp)" : : : "memory", "cc"); }

#define PCI_DEVICE_VIRTIO_MODERN_BASE 0x1040

struct vpci_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
} __attribute__((packed));

/* 4.1.2.1: transitional device IDs by device type. */
static u16 transitional_id(u32 type)
{
    switch (type) {
    case VIRTIO_ID_NET: return 0x1000;
    case VIRTIO_ID_BLOCK: return 0x1001;
    case VIRTIO_ID_BALLOON: return 0x1002;
    case VIRTIO_ID_CONSOLE: return 0x1003;
    case VIRTIO_ID_RNG: return 0x1005;
    default: return 0;
    }
}

static u32 bar_address(u32 bdf, u32 bar)
{
    u32 lo = pci_read32(bdf, PCI_BAR0 + 4 * bar);
    if (lo & 1)
        return 0; /* I/O BAR: the modern transport uses memory BARs */
    if ((lo & 0x6) == 0x4 && pci_read32(bdf, PCI_BAR0 + 4 * bar + 4) != 0)
        return 0; /* 64-bit BAR above 4 GiB: unreachable without paging */
    return lo & ~0xfu;
}

int vpci_find(struct vpci_dev *d, u32 type)
{
    memset(d, 0, sizeof(*d));
    u16 ids[2];
    u32 n = 0;
    ids[n++] = (u16)(PCI_DEVICE_VIRTIO_MODERN_BASE + type);
    if (transitional_id(type))
        ids[n++] = transitional_id(type);
    if (!pci_find(PCI_VENDOR_VIRTIO, ids, n, &d->bdf))
        return 0;
    return vpci_open(d, d->bdf);
}

int vpci_open(struct vpci_dev *d, u32 bdf)
{
    memset(d, 0, sizeof(*d));
    d->bdf = bdf;
    d->device_id = pci_read16(d->bdf, 2);
    pci_write16(d->bdf, PCI_COMMAND, pci_read16(d->bdf, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (!(pci_read16(d->bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    u32 pos = pci_read8(d->bdf, PCI_CAPABILITY_LIST) & ~3u;
    for (u32 i = 0; pos && i < 48; i++) {
        if (pci_read8(d->bdf, pos) == PCI_CAP_ID_VNDR) {
            u8 t = pci_read8(d->bdf, pos + VIRTIO_PCI_CAP_CFG_TYPE);
            u32 bar = pci_read8(d->bdf, pos + VIRTIO_PCI_CAP_BAR);
            u32 off = pci_read32(d->bdf, pos + VIRTIO_PCI_CAP_OFFSET);
            u32 base = bar < 6 ? bar_address(d->bdf, bar) : 0;
            /* 4.1.4: the first capability of each type is the preferred one. */
            if (base) {
                if (t == VIRTIO_PCI_CAP_COMMON_CFG && !d->common)
                    d->common = base + off;
                else if (t == VIRTIO_PCI_CAP_ISR_CFG && !d->isr)
                    d->isr = base + off;
                else if (t == VIRTIO_PCI_CAP_DEVICE_CFG && !d->devcfg)
                    d->devcfg = base + off;
                else if (t == VIRTIO_PCI_CAP_NOTIFY_CFG && !d->notify) {
                    d->notify = base + off;
                    d->notify_mult = pci_read32(d->bdf, pos + VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER);
                }
            }
        }
        pos = pci_read8(d->bdf, pos + 1) & ~3u;
    }
    return d->common && d->isr && d->notify;
}

u8 vpci_status(struct vpci_dev *d) { return rd8(d->common + VIRTIO_PCI_COMMON_STATUS); }

static void status_set(struct vpci_dev *d, u8 s) { wr8(d->common + VIRTIO_PCI_COMMON_STATUS, s); }

void vpci_reset(struct vpci_dev *d)
{
    status_set(d, 0);
    /* 4.1.4.3.2: the driver waits until the status reads back 0. */
    for (u32 i = 0; i < 100000 && vpci_status(d) != 0; i++)
        ;
    for (u32 i = 0; i < VPCI_MAX_QUEUES; i++)
        d->q[i].size = 0;
}

int vpci_has_feature(struct vpci_dev *d, u32 bit)
{
    return bit < 32 ? (d->features_lo >> bit) & 1 : (d->features_hi >> (bit - 32)) & 1;
}

int vpci_init(struct vpci_dev *d, u32 want_lo, u32 want_hi)
{
    vpci_reset(d);
    status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    wr32(d->common + VIRTIO_PCI_COMMON_DFSELECT, 0);
    d->offered_lo = rd32(d->common + VIRTIO_PCI_COMMON_DF);
    wr32(d->common + VIRTIO_PCI_COMMON_DFSELECT, 1);
    d->offered_hi = rd32(d->common + VIRTIO_PCI_COMMON_DF);
    d->features_lo = d->offered_lo & want_lo;
    d->features_hi = d->offered_hi & (want_hi | 1u << (VIRTIO_F_VERSION_1 - 32));
    wr32(d->common + VIRTIO_PCI_COMMON_GFSELECT, 0);
    wr32(d->common + VIRTIO_PCI_COMMON_GF, d->features_lo);
    wr32(d->common + VIRTIO_PCI_COMMON_GFSELECT, 1);
    wr32(d->common + VIRTIO_PCI_COMMON_GF, d->features_hi);
    status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(vpci_status(d) & VIRTIO_CONFIG_S_FEATURES_OK))
        return 0;
    d->num_queues = rd16(d->common + VIRTIO_PCI_COMMON_NUMQ);
    return 1;
}

int vpci_setup_queue(struct vpci_dev *d, u32 index, u16 max_size, u32 area)
{
    if (index >= VPCI_MAX_QUEUES || index >= d->num_queues)
        return 0;
    wr16(d->common + VIRTIO_PCI_COMMON_Q_SELECT, (u16)index);
    u16 max = rd16(d->common + VIRTIO_PCI_COMMON_Q_SIZE);
    if (max == 0)
        return 0;
    u16 size = max;
    if (size > VPCI_QUEUE_MAX)
        size = VPCI_QUEUE_MAX;
    if (max_size && size > max_size)
        size = max_size;
    struct vpci_queue *q = &d->q[index];
    memset((void *)area, 0, VPCI_QUEUE_AREA);
    q->size = size;
    q->desc = area;
    q->avail = area + 0x1000;
    q->used = area + 0x2000;
    q->avail_idx = 0;
    q->last_used = 0;
    volatile struct vpci_desc *t = (volatile struct vpci_desc *)q->desc;
    for (u16 i = 0; i < size; i++)
        t[i].next = (u16)(i + 1 < size ? i + 1 : 0xffff);
    q->free_head = 0;
    q->num_free = size;
    /* Polling: ask for no interrupts (2.6.6); without EVENT_IDX this flag is what the device reads. */
    wr16(q->avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    wr16(d->common + VIRTIO_PCI_COMMON_Q_SIZE, size);
    wr16(d->common + VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_DESCLO, q->desc);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_DESCHI, 0);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_AVAILLO, q->avail);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_USEDLO, q->used);
    wr32(d->common + VIRTIO_PCI_COMMON_Q_USEDHI, 0);
    q->notify = d->notify + rd16(d->common + VIRTIO_PCI_COMMON_Q_NOFF) * d->notify_mult;
    wr16(d->common + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    return 1;
}

void vpci_driver_ok(struct vpci_dev *d)
{
    wr16(d->common + VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
    status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK
                      | VIRTIO_CONFIG_S_DRIVER_OK);
}

u8 vpci_cfg8(struct vpci_dev *d, u32 off) { return rd8(d->devcfg + off); }
u16 vpci_cfg16(struct vpci_dev *d, u32 off) { return rd16(d->devcfg + off); }
u32 vpci_cfg32(struct vpci_dev *d, u32 off) { return rd32(d->devcfg + off); }
void vpci_cfg_write32(struct vpci_dev *d, u32 off, u32 v) { wr32(d->devcfg + off, v); }

u32 vpci_free(struct vpci_dev *d, u32 q)
{
    return q < VPCI_MAX_QUEUES ? d->q[q].num_free : 0;
}

int vpci_add(struct vpci_dev *d, u32 qi, const u32 *addr, const u32 *len, u32 n_out, u32 n_in)
{
    if (qi >= VPCI_MAX_QUEUES)
        return -1;
    struct vpci_queue *q = &d->q[qi];
    u32 n = n_out + n_in;
    if (!q->size || n == 0 || n > q->num_free)
        return -1;
    volatile struct vpci_desc *t = (volatile struct vpci_desc *)q->desc;
    u16 head = q->free_head;
    u16 i = head, last = head;
    for (u32 k = 0; k < n; k++) {
        t[i].addr = addr[k];
        t[i].len = len[k];
        t[i].flags = (u16)((k >= n_out ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        last = i;
        i = t[i].next;
    }
    q->free_head = i;
    q->num_free = (u16)(q->num_free - n);
    (void)last;
    volatile u16 *ring = (volatile u16 *)(q->avail + 4);
    ring[q->avail_idx % q->size] = head;
    q->avail_idx++;
    return head;
}

static void publish(struct vpci_dev *d, u32 qi, int force)
{
    struct vpci_queue *q = &d->q[qi];
    volatile u16 *idx = (volatile u16 *)(q->avail + 2);
    barrier();
    u16 old = *idx;
    u16 now = q->avail_idx;
    *idx = now;
    full_fence();
    int kick = force;
    if (!kick && old != now) {
        if (vpci_has_feature(d, VIRTIO_RING_F_EVENT_IDX)) {
            u16 ev = rd16(q->used + 4 + 8 * q->size);
            kick = (u16)(now - ev - 1) < (u16)(now - old);
        } else {
            kick = !(rd16(q->used) & VIRTQ_USED_F_NO_NOTIFY);
        }
    }
    if (kick)
        wr16(q->notify, (u16)qi);
}

void vpci_kick(struct vpci_dev *d, u32 q)
{
    if (q < VPCI_MAX_QUEUES && d->q[q].size)
        publish(d, q, 0);
}

void vpci_notify(struct vpci_dev *d, u32 q)
{
    if (q < VPCI_MAX_QUEUES && d->q[q].size)
        publish(d, q, 1);
}

int vpci_get_used(struct vpci_dev *d, u32 qi, u32 *id, u32 *len)
{
    if (qi >= VPCI_MAX_QUEUES)
        return 0;
    struct vpci_queue *q = &d->q[qi];
    if (!q->size || rd16(q->used + 2) == q->last_used)
        return 0;
    barrier();
    u32 e = q->used + 4 + 8 * (q->last_used % q->size);
    u32 head = rd32(e);
    *id = head;
    *len = rd32(e + 4);
    q->last_used++;
    if (vpci_has_feature(d, VIRTIO_RING_F_EVENT_IDX))
        /* polling: a used_event just behind the consumer never asks for an interrupt */
        wr16(q->avail + 4 + 2 * q->size, (u16)(q->last_used - 1));
    if (head < q->size) {
        /* back on the free list: walk the chain to its end */
        volatile struct vpci_desc *t = (volatile struct vpci_desc *)q->desc;
        u16 i = (u16)head;
        u32 n = 1;
        while ((t[i].flags & VIRTQ_DESC_F_NEXT) && n < q->size) {
            i = t[i].next;
            n++;
        }
        t[i].next = q->free_head;
        q->free_head = (u16)head;
        q->num_free = (u16)(q->num_free + n);
    }
    return 1;
}

int vpci_wait_used(struct vpci_dev *d, u32 q, u32 timeout_ms, u32 *id, u32 *len)
{
    struct deadline dl;
    deadline_set(&dl, timeout_ms);
    while (!vpci_get_used(d, q, id, len)) {
        if (expired(&dl))
            return 0;
        __asm__ volatile("pause");
    }
    return 1;
}
