package dev.jvmm.devices.isa;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;

/**
 * The POST diagnostic port 0x80, which guests also write to as an I/O delay. QEMU's pc machine maps a sink
 * there (ioport80 in hw/i386/pc.c) that ignores writes and reads as all ones. Port 0xed, the other delay
 * port, is left unassigned as in QEMU. The last value written is kept for debugging.
 */
public final class PostCodePort implements IoHandler {
    public static final int BASE = 0x80;
    public static final int PORT_COUNT = 1;

    private volatile int lastCode;

    public void attach(PioBus bus) {
        bus.register(BASE, PORT_COUNT, this);
    }

    public int lastCode() {
        return lastCode;
    }

    @Override
    public long read(long offset, int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    @Override
    public void write(long offset, int size, long value) {
        lastCode = (int) value & 0xff;
    }
}
