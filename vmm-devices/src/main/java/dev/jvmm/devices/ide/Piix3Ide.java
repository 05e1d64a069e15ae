package dev.jvmm.devices.ide;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.List;

/**
 * Intel 82371SB (PIIX3) datasheet, section 2.3 (function 1, IDE interface): QEMU's piix3-ide at 00:01.1
 * (8086:7010, class 0x0101 prog-if 0x80: legacy-mode channels, bus master capable). Two {@link IdeBus}es on
 * the fixed legacy ports (primary 0x1f0-0x1f7 and 0x3f6 on ISA IRQ 14, secondary 0x170-0x177 and 0x376 on
 * IRQ 15) and the bus-master registers in BAR4 (16 I/O ports: 8 per channel).
 */
public final class Piix3Ide implements PciFunction, Saveable {
    /** QEMU's abstract pci-ide. */
    public static final TypeInfo PCI_IDE = TypeInfo.abstractType("pci-ide", "pci-device")
            .implementing("conventional-pci-device").build();

    /** QEMU's piix3-ide: nothing of its own beyond a PCI function's properties. */
    public static final TypeInfo TYPE = TypeInfo.type("piix3-ide", PCI_IDE.name()).category("Storage")
            .coldPlugOnly().build();

    /** The board makes it, at 01.1 (addr=01.1), before any -device, as QEMU's pc_init1. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, Piix3Ide::realize);

    /** What an IDE bus of the model stands for: a channel of the function. */
    public record Channel(IdeBus bus, int number) {
    }

    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_82371SB_IDE = 0x7010;
    /** Mass storage, IDE, programming interface 0x80 (bus master, both channels in compatibility mode). */
    public static final int CLASS_IDE = 0x010180;
    /** PCI 3.0 section 6.2.3: fast back-to-back capable. */
    public static final int STATUS_FAST_BACK = 0x0080;
    /** The BAR holding BMIBA (section 2.3.9). */
    public static final int BMIBA_BAR = 4;
    public static final int BMIBA_SIZE = 16;
    /** Where the pc machine puts the function. */
    public static final int PC_SLOT = 1;
    public static final int PC_FUNCTION = 1;

    /** ATA8-APT legacy ("compatibility") port assignments. */
    public static final int PRIMARY_COMMAND = 0x1f0;
    public static final int PRIMARY_CONTROL = 0x3f6;
    public static final int SECONDARY_COMMAND = 0x170;
    public static final int SECONDARY_CONTROL = 0x376;
    public static final int PRIMARY_IRQ = 14;
    public static final int SECONDARY_IRQ = 15;

    private final PciConfigSpace config;
    private final IdeBus[] buses = new IdeBus[2];
    private final PciBar bar;

    /** BAR4: per channel, command and status bytes at +0/+2 and the descriptor table pointer at +4. */
    private final IoHandler bmHandler = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            IdeBus b = buses[(int) (offset >> 3) & 1];
            int reg = (int) offset & 7;
            synchronized (b) {
                if (reg < BusMasterDma.BMIDTPX) {
                    return b.dma().readRegister(reg, size);
                }
                return b.dma().readTable(reg - BusMasterDma.BMIDTPX, Math.min(size, 8 - reg)) & 0xffff_ffffL;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            IdeBus b = buses[(int) (offset >> 3) & 1];
            int reg = (int) offset & 7;
            synchronized (b) {
                if (reg < BusMasterDma.BMIDTPX) {
                    b.dma().writeRegister(reg, size, (int) value);
                } else {
                    b.dma().writeTable(reg - BusMasterDma.BMIDTPX, Math.min(size, 8 - reg), (int) value);
                }
            }
        }
    };

    /**
     * @param memory guest RAM for bus-master DMA
     * @param irq14  ISA IRQ 14 (primary channel)
     * @param irq15  ISA IRQ 15 (secondary channel)
     */
    public Piix3Ide(GuestMemory memory, IrqLine irq14, IrqLine irq15) {
        buses[0] = new IdeBus(irq14);
        buses[1] = new IdeBus(irq15);
        for (IdeBus b : buses) {
            b.setMemory(memory);
        }
        config = new PciConfigSpace(VENDOR_INTEL, DEVICE_82371SB_IDE, 0, CLASS_IDE, 0);
        config.set16(PciConfigSpace.STATUS, PciConfigSpace.STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK);
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 0x1af4);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, 0x1100);
        bar = new PciBar(BMIBA_BAR, PciBar.Kind.IO, BMIBA_SIZE, false, bmHandler);
        config.addBar(bar);
        // QEMU leaves the device-specific registers (IDETIM, SIDETIM...) guest-writable and without effect
        for (int off = PciConfigSpace.DEVICE_SPECIFIC; off < PciConfigSpace.SIZE; off += 8) {
            config.setWritable(off, 8, -1L);
        }
        config.sealInitialState();
    }

    /**
     * The function on the ISA lines 14 and 15 and the legacy ports, with its buses ide.0 and ide.1. The legacy
     * ports allow one such controller, so a second one (-device piix3-ide) is refused.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        if (where.model().bus("ide.0").isPresent()) {
            throw new PropertyException("jvmm's pc machine has one IDE controller, the board's piix3-ide at 01.1:"
                    + " another is not supported");
        }
        PciPlacement at = PciPlacement.choose(ctx.pci(), TYPE.name(), p.number("addr"));
        Piix3Ide ide = new Piix3Ide(ctx.memory(), ctx.isaIrq(PRIMARY_IRQ), ctx.isaIrq(SECONDARY_IRQ));
        ide.attach(ctx.pio());
        ctx.pci().add(at.slot(), at.function(), ide);
        QomNode n = where.node();
        n.addConstant("hotpluggable", "bool", false);
        at.describe(n);
        for (int i = 0; i < ide.buses.length; i++) {
            where.model().addBus(n, "ide." + i, IdeBus.TYPE.name(), new Channel(ide.bus(i), i));
        }
        // the PCI bus resets the function; its section holds both channels and their units
        return Realized.of(ide);
    }

    /** Channel 0 (primary) or 1 (secondary); attach drives with {@link IdeBus#attach}. */
    public IdeBus bus(int channel) {
        return buses[channel];
    }

    /** Registers both channels' legacy command and control ports. */
    public void attach(PioBus pio) {
        pio.register(PRIMARY_COMMAND, 8, buses[0].commandBlockHandler());
        pio.register(PRIMARY_CONTROL, 1, buses[0].controlBlockHandler());
        pio.register(SECONDARY_COMMAND, 8, buses[1].commandBlockHandler());
        pio.register(SECONDARY_CONTROL, 1, buses[1].controlBlockHandler());
    }

    /** The bus-master register block, for tests and machines that map it themselves. */
    public IoHandler busMasterHandler() {
        return bmHandler;
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        config.write(offset, size, value);
    }

    @Override
    public String description() {
        return "IDE controller";
    }

    @Override
    public List<PciBar> bars() {
        return List.of(bar);
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** Config space, then each channel ({@link IdeBus#saveState}). Runs under the same locks as guest access. */
    @Override
    public void saveState(StateWriter w) {
        byte[] cs = new byte[PciConfigSpace.SIZE];
        synchronized (this) {
            for (int i = 0; i < cs.length; i++) {
                cs[i] = (byte) config.get8(i);
            }
        }
        w.bytes("config-space", cs);
        w.begin("channels", 2);
        buses[0].saveState(w);
        buses[1].saveState(w);
        w.end();
    }

    /** A refused section leaves the controller reset, never half loaded. */
    @Override
    public void loadState(StateReader r) throws StateException {
        try {
            byte[] cs = new byte[PciConfigSpace.SIZE];
            r.bytes("config-space", cs);
            if ((cs[0] & 0xff | (cs[1] & 0xff) << 8) != VENDOR_INTEL
                    || (cs[2] & 0xff | (cs[3] & 0xff) << 8) != DEVICE_82371SB_IDE) {
                throw r.invalid("config-space", "vendor/device ID is not the PIIX3 IDE function's");
            }
            r.begin("channels", 2);
            buses[0].loadState(r);
            buses[1].loadState(r);
            r.end();
            synchronized (this) {
                for (int i = 0; i < cs.length; i++) {
                    config.set8(i, cs[i] & 0xff);
                }
            }
        } catch (StateException e) {
            reset();
            throw e;
        }
    }

    /** QEMU's piix_ide_reset: both channels reset, config space back to power-on values. */
    @Override
    public void reset() {
        for (IdeBus b : buses) {
            b.reset();
        }
        synchronized (this) {
            config.reset();
        }
    }
}
