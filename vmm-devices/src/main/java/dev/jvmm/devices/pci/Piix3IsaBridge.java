package dev.jvmm.devices.pci;

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
 * Intel 82371SB (PIIX3) datasheet, section 2.2: the PCI-to-ISA bridge at 00:01.0 (8086:7000, class
 * 0x0601, multi-function) with QEMU 7.2's reset values, the PIRQ route control registers that feed a
 * {@link PciInterruptRouter}, and the Reset Control Register at I/O port 0xcf9 (section 4.1.1).
 */
public final class Piix3IsaBridge implements PciFunction, Saveable {
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_82371SB_ISA = 0x7000;
    public static final int CLASS_ISA_BRIDGE = 0x060100;

    /** Section 2.2.6: ISA I/O recovery timer (QEMU reset 0x4d). */
    public static final int IORT = 0x4c;
    /** Section 2.2.7: X-bus chip select (QEMU reset 0x0003). */
    public static final int XBCS = 0x4e;
    /** Section 2.2.9: PIRQ route control A-D (0x60-0x63). */
    public static final int PIRQRCA = 0x60;
    /** Section 2.2.10: top of memory (QEMU reset 0x02). */
    public static final int TOM = 0x69;
    /** Section 2.2.12: motherboard IRQ route control 0 (QEMU reset 0x80). */
    public static final int MBIRQ0 = 0x70;
    /** Section 2.2.13: motherboard DMA control 0/1 (QEMU reset 0x0c). */
    public static final int MBDMA0 = 0x76;
    public static final int MBDMA1 = 0x77;
    /** Section 2.2.14: programmable chip select control (QEMU reset 0x0002). */
    public static final int PCSC = 0x78;
    /** Section 2.2.18: SMI control (QEMU reset 0x08). */
    public static final int SMICNTL = 0xa0;
    /** Section 2.2.21: system event enable (QEMU reset 0x0f at 0xa8). */
    public static final int SEE = 0xa8;

    /** Section 4.1.1: Reset Control Register port. */
    public static final int RCR_PORT = 0xcf9;
    /** RCR bit 1: System Reset (hard reset when bit 2 fires); the only bit QEMU keeps. */
    public static final int RCR_SRST = 0x02;
    /** RCR bit 2: Reset CPU; a write with it set resets the machine in QEMU. */
    public static final int RCR_RCPU = 0x04;

    /** SeaBIOS's pci_irqs: PIRQA-D to ISA IRQ 10, 10, 11, 11. */
    public static final int[] FIRMWARE_PIRQ_IRQS = {10, 10, 11, 11};

    /**
     * QEMU's abstract PIIX3 (hw/isa/piix3.c). The board makes it multi-function, which the header type
     * always says here; multifunction is declared again only so that the board's value is taken.
     */
    public static final TypeInfo PCI_PIIX3 = TypeInfo.abstractType("pci-piix3", "pci-device")
            .implementing("acpi-dev-aml-interface", "conventional-pci-device")
            .prop(Property.of("multifunction", PropType.BIT, false))
            .build();

    public static final TypeInfo TYPE = TypeInfo.type("PIIX3", "pci-piix3").notUserCreatable().coldPlugOnly()
            .build();

    /** Only the board creates it, at 01.0, with the ISA bus "isa.0" the legacy devices plug into. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        Piix3IsaBridge b = new Piix3IsaBridge(ctx.pci().router(), ctx.lifecycle()::requestGuestReset);
        PciPlacement.plug(ctx.pci(), b, TYPE.name(), p.number("addr"));
        b.attach(ctx.pio());
        where.model().addBus(where.node(), "isa.0", "ISA", ctx.pio());
        return Realized.of(b);
    });

    private final PciConfigSpace config;
    private final PciInterruptRouter router;
    private final ResetRequest resetRequest;
    private int rcr;

    /** The port 0xcf9 handler; {@link #attach} registers it. */
    private final IoHandler rcrHandler = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            synchronized (Piix3IsaBridge.this) {
                return rcr;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if ((value & RCR_RCPU) != 0) {
                resetRequest.requestReset();
                return;
            }
            synchronized (Piix3IsaBridge.this) {
                rcr = (int) value & RCR_SRST;
            }
        }
    };

    public Piix3IsaBridge(PciInterruptRouter router, ResetRequest resetRequest) {
        this.router = router;
        this.resetRequest = resetRequest;
        config = new PciConfigSpace(VENDOR_INTEL, DEVICE_82371SB_ISA, 0, CLASS_ISA_BRIDGE,
                PciConfigSpace.HEADER_TYPE_MULTI_FUNCTION);
        config.set16(PciConfigSpace.STATUS, PciConfigSpace.STATUS_DEVSEL_MEDIUM);
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, I440fxHostBridge.SUBSYSTEM_VENDOR_QEMU);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, I440fxHostBridge.SUBSYSTEM_QEMU);
        config.set8(IORT, 0x4d);
        config.set16(XBCS, 0x0003);
        config.set32(PIRQRCA, 0x80808080);
        config.set8(TOM, 0x02);
        config.set8(MBIRQ0, 0x80);
        config.set8(MBDMA0, 0x0c);
        config.set8(MBDMA1, 0x0c);
        config.set16(PCSC, 0x0002);
        config.set8(SMICNTL, 0x08);
        config.set8(SEE, 0x0f);
        // QEMU leaves every device-specific byte writable on the PIIX3
        for (int off = PciConfigSpace.DEVICE_SPECIFIC; off < PciConfigSpace.SIZE; off += 8) {
            config.setWritable(off, 8, -1L);
        }
        config.sealInitialState();
        pushRoutes();
    }

    /** Registers the Reset Control Register at port 0xcf9. */
    public void attach(PioBus pio) {
        pio.register(RCR_PORT, 1, rcrHandler);
    }

    /** The port 0xcf9 handler, for machines that place it themselves. */
    public IoHandler rcrHandler() {
        return rcrHandler;
    }

    /** Programs PIRQA-D as SeaBIOS does (10, 10, 11, 11), through the same path as a guest write. */
    public void programFirmwareRoutes() {
        for (int i = 0; i < PciInterruptRouter.PIRQ_COUNT; i++) {
            writeConfig(PIRQRCA + i, 1, FIRMWARE_PIRQ_IRQS[i]);
        }
    }

    @Override
    public int readConfig(int offset, int size) {
        synchronized (this) {
            return config.read(offset, size);
        }
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        synchronized (this) {
            config.write(offset, size, value);
        }
        if (offset < PIRQRCA + PciInterruptRouter.PIRQ_COUNT && offset + size > PIRQRCA) {
            pushRoutes();
        }
    }

    private void pushRoutes() {
        for (int i = 0; i < PciInterruptRouter.PIRQ_COUNT; i++) {
            int v;
            synchronized (this) {
                v = config.get8(PIRQRCA + i);
            }
            router.setRoute(i, v);
        }
    }

    @Override
    public String description() {
        return "ISA bridge";
    }

    /** QEMU's piix3_reset: config space to reset values (routes disabled) and RCR 0. */
    @Override
    public void reset() {
        synchronized (this) {
            config.reset();
            rcr = 0;
        }
        pushRoutes();
    }

    /** Current RCR value (bit 1 only). */
    public synchronized int rcr() {
        return rcr;
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** Config space (PIRQ routes included) and RCR; the router's routes are derived and pushed on load. */
    @Override
    public synchronized void saveState(StateWriter w) {
        config.saveState(w);
        w.u8("rcr", rcr);
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        synchronized (this) {
            byte[] cfg = config.readState(r);
            int v = r.u8("rcr");
            if ((v & ~RCR_SRST) != 0) {
                throw r.invalid("rcr", String.format("0x%02x: only bit 1 (SRST) is kept", v));
            }
            config.applyState(cfg);
            rcr = v;
        }
        pushRoutes();
    }
}
