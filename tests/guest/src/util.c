/* Helpers shared by the disk drivers: TSC calibration and deadlines, 64-bit printing, the test pattern and checksum. */
#include "guest.h"

u32 tsc_khz;

/* 64-by-32 division with two divl (no libgcc). */
u64 udiv64(u64 n, u32 d, u32 *rem)
{
    u32 hi = (u32)(n >> 32), lo = (u32)n;
    u32 qhi = hi / d, r = hi % d, qlo;
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
    if (rem)
        *rem = r;
    return (u64)qhi << 32 | qlo;
}

void put_u64(u64 v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        u32 r;
        v = udiv64(v, 10, &r);
        buf[--i] = (char)('0' + r);
    } while (v);
    puts(&buf[i]);
}

/* PIT channel 2 one-shot of 50 ms against the TSC (ports 0x42/0x43/0x61). */
#define PIT_CH2 0x42
#define PIT_MODE_PORT 0x43
#define PIT_MODE_CH2_LOHI_ONESHOT 0xb0
#define SPEAKER_PORT 0x61
#define SPEAKER_GATE2 0x01
#define SPEAKER_DATA 0x02
#define SPEAKER_OUT2 0x20
#define CALIBRATE_PIT_COUNT 59659u   /* 50 ms at 1.193182 MHz */

void calibrate_tsc(void)
{
    u8 p = inb(SPEAKER_PORT);
    outb(SPEAKER_PORT, (u8)((p & ~SPEAKER_DATA) | SPEAKER_GATE2));
    outb(PIT_MODE_PORT, PIT_MODE_CH2_LOHI_ONESHOT);
    outb(PIT_CH2, (u8)CALIBRATE_PIT_COUNT);
    outb(PIT_CH2, (u8)(CALIBRATE_PIT_COUNT >> 8));
    u64 t0 = rdtsc();
    u32 i;
    for (i = 0; i < 10000000 && !(inb(SPEAKER_PORT) & SPEAKER_OUT2); i++)
        ;
    u64 t1 = rdtsc();
    outb(SPEAKER_PORT, p);
    /*
     * ticks per 50 ms / 50 = kHz. A PIT gate that never opens (no speaker port: 0x61 reads 0xff at once)
     * or a TSC slower than 100 MHz is not believed: tsc_khz stays 0 and timeouts fall back to loop counts.
     */
    tsc_khz = i == 10000000 || i < 100 ? 0 : (u32)udiv64(t1 - t0, 50, 0);
    if (tsc_khz < 100000)
        tsc_khz = 0;
}

u64 now_us(void)
{
    return tsc_khz ? udiv64(rdtsc(), tsc_khz / 1000 ? tsc_khz / 1000 : 1, 0) : 0;
}

void deadline_set(struct deadline *d, u32 ms)
{
    d->end = rdtsc() + (u64)tsc_khz * ms;
    d->spins = 0;
    d->max_spins = ms * 2000;  /* about a microsecond per emulated spin, generous */
}

int expired(struct deadline *d)
{
    if (tsc_khz)
        return rdtsc() > d->end;
    return ++d->spins > d->max_spins;
}

/* The test pattern: the 32-bit word at disk byte offset o is o * 0x9e3779b1 + 0x6a766d6d + seed. */
#define PATTERN_MUL 0x9e3779b1u
#define PATTERN_ADD 0x6a766d6du

void pattern_fill(u32 buf, u64 disk_off, u32 len, u32 seed)
{
    volatile u32 *p = (volatile u32 *)buf;
    u32 w = (u32)disk_off * PATTERN_MUL + PATTERN_ADD + seed;
    for (u32 i = 0; i < len / 4; i++) {
        p[i] = w;
        w += 4 * PATTERN_MUL;
    }
}

/* FNV-1a over little-endian 32-bit words (the Java tests compute the same). */

u32 checksum_add(u32 h, u32 buf, u32 len)
{
    const volatile u32 *p = (const volatile u32 *)buf;
    for (u32 i = 0; i < len / 4; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

int mem_equal(u32 a, u32 b, u32 len)
{
    const volatile u32 *p = (const volatile u32 *)a, *q = (const volatile u32 *)b;
    for (u32 i = 0; i < len / 4; i++)
        if (p[i] != q[i])
            return 0;
    return 1;
}

int all_zero(u32 a, u32 len)
{
    const volatile u32 *p = (const volatile u32 *)a;
    for (u32 i = 0; i < len / 4; i++)
        if (p[i])
            return 0;
    return 1;
}

