package dev.jvmm.devices.pci;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;
import static dev.jvmm.core.qom.Property.fixed;

/**
 * PCI Local Bus Specification 3.0, section 3.2.2.3.2: Configuration Mechanism #1. CONFIG_ADDRESS at
 * 0xcf8 (enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:0) selects a register that
 * CONFIG_DATA at 0xcfc-0xcff reads and writes. Behaviour follows QEMU 7.2 where it differs from the spec:
 * CONFIG_ADDRESS takes only 32-bit writes, keeps all 32 bits as written (the low two included, which
 * are OR-ed with the data port offset), and any read of 0xcf8-0xcfb returns its low bytes; 0xcf9 belongs
 * to the PIIX3 Reset Control Register.
 */
public final class PciHostBridge implements Saveable {
    public static final int CONFIG_ADDRESS = 0xcf8;
    public static final int CONFIG_DATA = 0xcfc;
    /** CONFIG_ADDRESS bit 31: configuration space mapping enabled. */
    public static final int CONFIG_ENABLE = 0x8000_0000;

    /** QEMU's abstract PCI host (hw/pci/pci_host.c): a sysbus device that provides the root bus. */
    public static final TypeInfo PCI_HOST_BRIDGE = TypeInfo.abstractType("pci-host-bridge", "sys-bus-device")
            .props(fixed("bypass-iommu", PropType.BOOL, false),
                    // migration only
                    Property.of("x-config-reg-migration-enabled", PropType.BOOL, true))
            .build();

    /**
     * The i440FX host (hw/pci-host/i440fx.c) at /machine/i440fx: the configuration ports and the pci.0 bus.
     * jvmm has no 64-bit PCI window: its settings keep their defaults.
     */
    public static final TypeInfo I440FX_PCIHOST = TypeInfo.type("i440FX-pcihost", "pci-host-bridge").notUserCreatable()
            .coldPlugOnly()
            .props(Property.object("pci-hole-end", PropType.UINT32),
                    fixed("pci-hole64-size", PropType.SIZE, 2L << 30),
                    Property.object("pci-hole64-start", PropType.UINT64),
                    fixed("short_root_bus", PropType.UINT32, 0L),
                    Property.object("pci-hole64-end", PropType.UINT64),
                    fixed("x-pci-hole64-fix", PropType.BOOL, true),
                    Property.object("pci-hole-start", PropType.UINT32),
                    Property.object("pci-conf-idx[0]", PropType.child("memory-region")),
                    Property.object("pci-conf-data[0]", PropType.child("memory-region")))
            .build();

    /** The end of the 32-bit PCI window: the IOAPIC. */
    public static final long PCI_HOLE_END = 0xfec0_0000L;

    public static final DeviceClass I440FX_PCIHOST_CLASS = new DeviceClass(I440FX_PCIHOST, (ctx, p, where) -> {
        PciHostBridge host = new PciHostBridge(ctx.pci());
        host.attach(ctx.pio());
        where.model().addBus(where.node(), "pci.0", "PCI", ctx.pci());
        // QEMU's pc_pci_hole64_start: above high RAM, aligned to 1 GiB
        long hole64 = (0x1_0000_0000L + ctx.ramAbove4g() + (1L << 30) - 1) & -(1L << 30);
        QomNode n = where.node();
        n.addConstant("pci-hole-start", "uint32", ctx.ramBelow4g());
        n.addConstant("pci-hole-end", "uint32", PCI_HOLE_END);
        n.addConstant("pci-hole64-start", "uint64", hole64);
        n.addConstant("pci-hole64-end", "uint64", hole64 + p.number("pci-hole64-size"));
        return Realized.of(host);
    });

    private final PciBus bus;
    private volatile int configAddress;

    /** CONFIG_ADDRESS's first byte: 32-bit writes only, as QEMU's pci_host_config_write. */
    private final IoHandler addressLow = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            return configAddress & mask(size);
        }

        @Override
        public void write(long offset, int size, long value) {
            if (size == 4) {
                configAddress = (int) value;
            }
        }
    };

    /** CONFIG_ADDRESS bytes 2-3: reads return the register's low bytes (QEMU ignores the offset), writes drop. */
    private final IoHandler addressHigh = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            return configAddress & mask(size);
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    };

    private final IoHandler data = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            return readData((int) offset, size) & mask(size);
        }

        @Override
        public void write(long offset, int size, long value) {
            writeData((int) offset, size, (int) value);
        }
    };

    public PciHostBridge(PciBus bus) {
        this.bus = bus;
    }

    /** Registers 0xcf8, 0xcfa-0xcfb and 0xcfc-0xcff (0xcf9 is the PIIX3's). */
    public void attach(PioBus pio) {
        pio.register(CONFIG_ADDRESS, 1, addressLow);
        pio.register(CONFIG_ADDRESS + 2, 2, addressHigh);
        pio.register(CONFIG_DATA, 4, data);
    }

    public int configAddress() {
        return configAddress;
    }

    public PciBus bus() {
        return bus;
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** CONFIG_ADDRESS: a guest may be between its 0xcf8 and 0xcfc accesses. */
    @Override
    public void saveState(StateWriter w) {
        w.u32("config-address", configAddress);
    }

    @Override
    public void loadState(StateReader r) throws dev.jvmm.core.vmstate.StateException {
        configAddress = r.u32("config-address");
    }

    /**
     * A CONFIG_DATA read at port offset 0-3. An access running past 0xcff is split as QEMU's memory core
     * splits it (naturally aligned pieces), the bytes beyond the data port reading as an unassigned port.
     */
    int readData(int offset, int size) {
        if (offset + size <= 4 && (offset & (size - 1)) == 0) {
            return readPiece(offset, size);
        }
        int v = 0;
        int pos = 0;
        while (pos < size) {
            int port = offset + pos;
            int piece = piece(port, size - pos);
            int part = port >= 4 ? (int) mask(piece) : readPiece(port, piece);
            v |= (int) (part & mask(piece)) << (8 * pos);
            pos += piece;
        }
        return v;
    }

    void writeData(int offset, int size, int value) {
        if (offset + size <= 4 && (offset & (size - 1)) == 0) {
            writePiece(offset, size, value);
            return;
        }
        int pos = 0;
        while (pos < size) {
            int port = offset + pos;
            int piece = piece(port, size - pos);
            if (port < 4) {
                writePiece(port, piece, (int) ((value >>> (8 * pos)) & mask(piece)));
            }
            pos += piece;
        }
    }

    /** Largest naturally aligned power of two at port (relative to 0xcfc), not over remaining. */
    private static int piece(int port, int remaining) {
        int p = 4;
        while (p > 1 && ((port & (p - 1)) != 0 || p > remaining)) {
            p >>= 1;
        }
        return p;
    }

    private int readPiece(int port, int size) {
        int addr = configAddress;
        if ((addr & CONFIG_ENABLE) == 0) {
            return -1;
        }
        addr |= port & 3;
        return bus.readConfig((addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff, size);
    }

    private void writePiece(int port, int size, int value) {
        int addr = configAddress;
        if ((addr & CONFIG_ENABLE) == 0) {
            return;
        }
        addr |= port & 3;
        bus.writeConfig((addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff, size, value);
    }

    private static long mask(int size) {
        return size >= 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1;
    }
}
