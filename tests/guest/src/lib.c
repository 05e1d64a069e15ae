/* Serial console, string helpers and the isa-debug-exit port. */
#include "guest.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define UART_LSR_THRE 0x20

#define DEBUG_EXIT_PORT 0xf4

void serial_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1);            /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR, UART_FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

void putc(char c)
{
    /* Bounded so a missing UART cannot hang the guest. */
    for (u32 i = 0; i < 100000; i++)
        if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
            break;
    outb(COM1 + UART_THR, (u8)c);
}

void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

void putln(const char *s)
{
    puts(s);
    putc('\n');
}

void put_dec(u32 v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts(&buf[i]);
}

void put_hex(u32 v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++)
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xf];
    buf[10] = 0;
    puts(buf);
}

void put_hex_short(u32 v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = digits[v & 0xf];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    puts(&buf[i]);
}

void *memset(void *d, int c, u32 n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, u32 n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

u32 strlen(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

int cmdline_get(const char *cmdline, const char *key, char *buf, u32 buflen)
{
    u32 klen = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        u32 i = 0;
        while (i < klen && w[i] == key[i])
            i++;
        if (i == klen && w[i] == '=') {
            const char *v = w + klen + 1;
            u32 j = 0;
            while (v[j] && v[j] != ' ' && j + 1 < buflen) {
                buf[j] = v[j];
                j++;
            }
            buf[j] = 0;
            return 1;
        }
        while (*p && *p != ' ')
            p++;
    }
    return 0;
}

int parse_u32(const char *s, u32 *out)
{
    u32 v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (v > 429496728u)
            return 0;
        v = v * 10 + (u32)(*s - '0');
    }
    *out = v;
    return 1;
}

void exit_qemu(u8 code)
{
    outb(DEBUG_EXIT_PORT, code);
    /* Only reached when no isa-debug-exit device exists. */
    for (;;)
        __asm__ volatile("cli; hlt");
}
