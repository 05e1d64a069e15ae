/*
 * action=pit and action=i8042: what a guest finds at the PC's legacy ports.
 *
 * action=pit: what the guest finds at the 8254 PIT's ports (Intel 82C54 datasheet) and at port 0x61 (the PC's
 * system control port B: bit 0 gates channel 2, bit 5 is channel 2's output). Only what does not depend on
 * timing is printed, so that the lines are the same on every run: with -machine pit=off the ports are
 * unassigned and read all ones, as they do under QEMU.
 */
#include "guest.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define SYSCTL_PORT_A 0x92
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
/* Control word: channel 2, low then high byte, mode 0 (interrupt on terminal count), binary. */
#define PIT_CW_CH2_LOHI_MODE0 0xb0
/* Counter latch command for channel 2. */
#define PIT_LATCH_CH2 0x80
/* Read-back: don't latch the count, latch channel 2's status. */
#define PIT_READBACK_STATUS_CH2 0xe8
/* Status byte: bits 5-0 are the programmed access mode, mode and BCD flag. */
#define PIT_STATUS_PROGRAMMED 0x3f

static u16 read_ch2(void)
{
    outb(PIT_MODE, PIT_LATCH_CH2);
    u16 lo = inb(PIT_CH2);
    u16 hi = inb(PIT_CH2);
    return (u16)(hi << 8 | lo);
}

void action_pit(void)
{
    u8 b = inb(PORT_B);
    puts("pit: port 0x61 ");
    putln(b == 0xff ? "reads 0xff" : "responds");
    outb(PORT_B, (u8)((b & ~PORT_B_SPEAKER) | PORT_B_GATE2));
    outb(PIT_MODE, PIT_CW_CH2_LOHI_MODE0);
    outb(PIT_CH2, 0xff);
    outb(PIT_CH2, 0xff);
    outb(PIT_MODE, PIT_READBACK_STATUS_CH2);
    u8 status = inb(PIT_CH2);
    puts("pit: channel 2 status ");
    put_hex_short(status & PIT_STATUS_PROGRAMMED);
    putc('\n');
    puts("pit: channel 2 output ");
    putln(inb(PORT_B) & PORT_B_OUT2 ? "high" : "low");
    u16 first = read_ch2();
    io_delay(1000);
    u16 second = read_ch2();
    puts("pit: channel 2 ");
    if (first == 0xffff && second == 0xffff)
        putln("reads 0xffff");
    else
        putln(second < first ? "counts down" : "does not count down");
    exit_qemu(EXIT_PASS);
}

/*
 * action=i8042: the i8042 status and data ports and port 0x92 (system control port A), read once each. With
 * -machine i8042=off QEMU 7.2 creates neither the controller nor port 0x92, so all three read all ones.
 */
void action_i8042(void)
{
    puts("i8042: status ");
    put_hex_short(inb(I8042_STATUS));
    puts(" data ");
    put_hex_short(inb(I8042_DATA));
    puts(" port 0x92 ");
    put_hex_short(inb(SYSCTL_PORT_A));
    putc('\n');
    exit_qemu(EXIT_PASS);
}
