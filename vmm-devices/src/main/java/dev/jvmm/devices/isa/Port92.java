package dev.jvmm.devices.isa;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.ResetRequest;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

/**
 * System Control Port A at 0x92 (IBM PS/2 "Fast A20 and reset", as QEMU's hw/i386/port92.c): bit 0 going
 * from 0 to 1 resets the system, bit 1 is the A20 gate. A20 is always enabled under KVM, so the bit is
 * only stored and read back.
 */
public final class Port92 implements IoHandler, Saveable {
    public static final int BASE = 0x92;
    public static final int PORT_COUNT = 1;

    static final int FAST_RESET = 0x01;
    static final int A20_ENABLE = 0x02;

    /** QEMU's port92 (hw/i386/port92.c); only the board creates it, with the i8042. */
    public static final TypeInfo TYPE = TypeInfo.type("port92", "isa-device").notUserCreatable()
            .props(Property.object("port92[0]", PropType.child("memory-region")),
                    Property.object("a20[0]", PropType.link("irq")))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        Port92 port = new Port92(ctx.lifecycle()::requestGuestReset);
        port.attach(ctx.pio());
        return new Realized<>(port, port::reset, () -> { });
    });

    private final ResetRequest reset;
    private int value;

    public Port92(ResetRequest reset) {
        this.reset = reset == null ? ResetRequest.NONE : reset;
    }

    public void attach(PioBus bus) {
        bus.register(BASE, PORT_COUNT, this);
    }

    /** Machine reset clears the reset bit and keeps A20, as QEMU does. */
    public synchronized void reset() {
        value &= ~FAST_RESET;
    }

    public synchronized boolean a20() {
        return (value & A20_ENABLE) != 0;
    }

    @Override
    public synchronized long read(long offset, int size) {
        return offset == 0 ? value : 0xff;
    }

    @Override
    public void write(long offset, int size, long v) {
        if (offset != 0) {
            return;
        }
        boolean fire;
        synchronized (this) {
            int old = value;
            value = (int) v & 0xff;
            fire = (value & FAST_RESET) != 0 && (old & FAST_RESET) == 0;
        }
        if (fire) {
            reset.requestReset();
        }
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** The register, reset bit included: only a 0 to 1 edge resets, so a set bit must stay set. */
    @Override
    public synchronized void saveState(StateWriter w) {
        w.u8("value", value);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        value = r.u8("value");
    }
}
