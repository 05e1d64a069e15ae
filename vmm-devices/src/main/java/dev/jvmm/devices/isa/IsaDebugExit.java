package dev.jvmm.devices.isa;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.ExitRequest;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceInstance;

/**
 * QEMU's isa-debug-exit test device (hw/misc/debugexit.c): a write of v makes the emulator exit with
 * status {@code (v << 1) | 1}; reads return 0. Options {@code iobase} (default 0x501) and {@code iosize}
 * (default 2).
 */
public final class IsaDebugExit implements IoHandler {
    public static final int DEFAULT_IOBASE = 0x501;
    public static final int DEFAULT_IOSIZE = 2;

    public static final TypeInfo TYPE = TypeInfo.type("isa-debug-exit", "isa-device").category("Misc")
            .props(Property.of("iobase", PropType.UINT32, (long) DEFAULT_IOBASE),
                    Property.of("iosize", PropType.UINT32, (long) DEFAULT_IOSIZE))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        long base = p.number("iobase");
        long size = p.number("iosize");
        if (size == 0 || base + size > 0x10000) {
            throw new PropertyException(String.format("isa-debug-exit: ports 0x%x+%d are outside the I/O space",
                    base, size));
        }
        new IsaDebugExit((int) base, (int) size, ctx.lifecycle()::requestExit).attach(ctx.pio());
        return DeviceInstance.STATELESS;
    });

    private final int iobase;
    private final int iosize;
    private final ExitRequest exit;

    public IsaDebugExit(int iobase, int iosize, ExitRequest exit) {
        if (iobase < 0 || iosize <= 0 || iobase + iosize > 0x10000) {
            throw new IllegalArgumentException(String.format("bad isa-debug-exit range 0x%x+%d", iobase, iosize));
        }
        this.iobase = iobase;
        this.iosize = iosize;
        this.exit = exit;
    }

    public IsaDebugExit(ExitRequest exit) {
        this(DEFAULT_IOBASE, DEFAULT_IOSIZE, exit);
    }

    public void attach(PioBus bus) {
        bus.register(iobase, iosize, this);
    }

    public int iobase() {
        return iobase;
    }

    public int iosize() {
        return iosize;
    }

    @Override
    public long read(long offset, int size) {
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        long v = size >= 8 ? value : value & ((1L << (8 * size)) - 1);
        // QEMU passes the result to exit(), so the process status is its low 8 bits.
        exit.requestExit((int) ((v << 1) | 1));
    }
}
