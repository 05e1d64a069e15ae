package dev.jvmm.devices.isa;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceInstance;

/**
 * QEMU pvpanic ISA device (QEMU docs/specs/pvpanic.rst, "ISA Interface"; behaviour of QEMU 7.2
 * hw/misc/pvpanic.c): one I/O port, by default 0x505. A read returns the event bits the device
 * supports; a write reports an event: bit 0 a panic the host should act on (QMP GUEST_PANICKED, then the
 * -action panic= policy), else bit 1 a panic the guest handles itself (GUEST_CRASHLOADED with action
 * "run"; the guest keeps running). Bit 0 wins when both are set; other bits are ignored. The write is
 * not filtered by the supported bits, as in QEMU 7.2.
 */
public final class PvPanic implements IoHandler {
    public static final int DEFAULT_IOPORT = 0x505;
    /** Bit 0: a guest panic has happened and should be processed by the host. */
    public static final int PVPANIC_PANICKED = 1 << 0;
    /** Bit 1: a guest panic has happened and will be handled by the guest (kdump loaded). */
    public static final int PVPANIC_CRASH_LOADED = 1 << 1;
    /** QEMU 7.2's default "events" property. */
    public static final int PVPANIC_EVENTS = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;

    /**
     * QEMU 7.2's pvpanic (hw/misc/pvpanic-isa.c): ioport (default 0x505) and events, the bits a guest reads
     * as supported (PANICKED | CRASH_LOADED by default). Its port's memory region is a child QEMU makes at
     * instance creation, so device-list-properties lists it.
     */
    public static final TypeInfo TYPE = TypeInfo.type("pvpanic", "isa-device").category("Misc")
            .implementing("acpi-dev-aml-interface")
            .props(Property.of("ioport", PropType.UINT16, (long) DEFAULT_IOPORT),
                    Property.of("events", PropType.UINT8, (long) PVPANIC_EVENTS),
                    Property.object("pvpanic[0]", PropType.child("memory-region")))
            .build();

    /** A panic goes to the machine's panic action, a crash-loaded report out as GUEST_CRASHLOADED. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        // QEMU tells the firmware the port through one fw_cfg file, which a second pvpanic cannot add
        if (where.model().devices().stream().anyMatch(d -> d.type().equals(TYPE.name()))) {
            throw new PropertyException("duplicate fw_cfg file name: etc/pvpanic-port");
        }
        int ioport = p.int32("ioport");
        new PvPanic(ioport, p.int32("events"), new PanicListener() {
            @Override
            public void panicked() {
                ctx.lifecycle().requestGuestPanic();
            }

            @Override
            public void crashLoaded() {
                ctx.events().publish(new VmEvent.GuestCrashloaded("run"));
            }
        }).attach(ctx.pio());
        ctx.describeIsa(AcpiIsaDevice.pvpanic(ioport));
        return DeviceInstance.STATELESS;
    });

    /** What the machine does with the guest's reports; called on the writing vCPU thread. */
    public interface PanicListener {
        /** GUEST_PANICKED: the machine applies its panic action (QEMU's default: shut down). */
        void panicked();

        /** GUEST_CRASHLOADED {"action": "run"}: report only, the guest keeps running. */
        void crashLoaded();
    }

    private final int ioport;
    private final int events;
    private final PanicListener listener;

    /**
     * @param ioport   the port (0 to 0xffff)
     * @param events   the supported event bits a read returns (0 to 0xff)
     * @param listener what the machine does with reports, or null to ignore them
     */
    public PvPanic(int ioport, int events, PanicListener listener) {
        if (ioport < 0 || ioport > 0xffff || events < 0 || events > 0xff) {
            throw new IllegalArgumentException("ioport or events out of range");
        }
        this.ioport = ioport;
        this.events = events;
        this.listener = listener;
    }

    /** At QEMU's default port with QEMU's default events. */
    public PvPanic(PanicListener listener) {
        this(DEFAULT_IOPORT, PVPANIC_EVENTS, listener);
    }

    public int ioport() {
        return ioport;
    }

    public int events() {
        return events;
    }

    public void attach(PioBus bus) {
        bus.register(ioport, 1, this);
    }

    /** Wider reads see the byte in every lane, as QEMU splits them into one-byte accesses. */
    @Override
    public long read(long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) events << (8 * i);
        }
        return value;
    }

    /** Wider writes are handled byte by byte, lowest first, as QEMU splits them. */
    @Override
    public void write(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            handleEvent((int) (value >>> (8 * i)) & 0xff);
        }
    }

    private void handleEvent(int event) {
        if (listener == null) {
            return;
        }
        if ((event & PVPANIC_PANICKED) != 0) {
            listener.panicked();
        } else if ((event & PVPANIC_CRASH_LOADED) != 0) {
            listener.crashLoaded();
        }
    }
}
