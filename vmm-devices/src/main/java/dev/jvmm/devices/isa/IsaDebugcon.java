package dev.jvmm.devices.isa;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceInstance;

/**
 * QEMU's isa-debugcon (hw/char/debugcon.c), Bochs' port 0xe9 hack: every byte written to the port goes to a
 * character device, and a read returns the readback value, by which firmware (SeaBIOS prints its debug log
 * to port 0x402 on QEMU) finds the port. Wider writes send each byte, lowest first.
 */
public final class IsaDebugcon implements IoHandler {
    public static final int DEFAULT_IOBASE = 0xe9;
    public static final int DEFAULT_READBACK = 0xe9;

    public static final TypeInfo TYPE = TypeInfo.type("isa-debugcon", "isa-device").category("Misc")
            .props(Property.of("iobase", PropType.UINT32, (long) DEFAULT_IOBASE),
                    Property.of("chardev", PropType.CHR),
                    Property.of("readback", PropType.UINT32, (long) DEFAULT_READBACK))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        long base = p.number("iobase");
        if (base > 0xffff) {
            throw new PropertyException(String.format("isa-debugcon: port 0x%x is outside the I/O space", base));
        }
        String id = p.str("chardev").orElseThrow(() -> new PropertyException("Can't create debugcon: no chardev!"));
        Chardev chr = ctx.chardevs().get(id).orElseThrow(() ->
                new PropertyException("Property 'isa-debugcon.chardev' can't find value '" + id + "'"));
        if (!ctx.chardevs().claim(id)) {
            throw new PropertyException("Property 'isa-debugcon.chardev' can't take value '" + id + "': Device '"
                    + id + "' is in use");
        }
        new IsaDebugcon(chr, (int) p.number("readback")).attach(ctx.pio(), (int) base);
        return DeviceInstance.STATELESS;
    });

    private final Chardev chr;
    private final int readback;

    public IsaDebugcon(Chardev chr, int readback) {
        this.chr = chr;
        this.readback = readback;
    }

    public void attach(PioBus bus, int iobase) {
        bus.register(iobase, 1, this);
    }

    @Override
    public long read(long offset, int size) {
        return readback & 0xffffffffL;
    }

    @Override
    public void write(long offset, int size, long value) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        chr.write(b, 0, size);
    }
}
