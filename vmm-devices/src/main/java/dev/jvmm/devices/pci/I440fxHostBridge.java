package dev.jvmm.devices.pci;

import dev.jvmm.core.memory.LowMemoryWindows;
import dev.jvmm.core.memory.LowMemoryWindows.Access;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

/**
 * Intel 82441FX (i440FX PMC) datasheet, section 3.2: the host bridge at 00:00.0 with the configuration
 * values QEMU 7.2's i440FX model shows: 8086:1237 rev 02, class 0x0600, subsystem 1af4:1100, SMRAM 0x02,
 * PAM registers 0, and QEMU's RAM-size byte at 0x57. PAM and SMRAM decide what 0xa0000-0xfffff reaches
 * (sections 3.2.17 and 3.2.22): every write to them, and every reset, maps the windows anew through
 * {@link LowMemoryWindows} (fixed RAM when a kernel boots without firmware).
 */
public final class I440fxHostBridge implements PciFunction, Saveable {
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_82441 = 0x1237;
    public static final int REVISION = 0x02;
    public static final int CLASS_HOST_BRIDGE = 0x060000;
    /** QEMU's subsystem ids for every PCI device without its own (Red Hat / Qumranet, "QEMU"). */
    public static final int SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    public static final int SUBSYSTEM_QEMU = 0x1100;

    /** Section 3.2.17: Programmable Attribute Map registers PAM0-PAM6 (0x59-0x5f). */
    public static final int PAM0 = 0x59;
    public static final int PAM_COUNT = 7;
    /** Section 3.2.21: System Management RAM control. */
    public static final int SMRAM = 0x72;
    /** SMRAM reset value: C_BASE_SEG = 010 (SMRAM at 0xa0000). */
    public static final int SMRAM_RESET = 0x02;
    /** SMRAM bit 3: G_SMRAME, global SMRAM enable. */
    public static final int SMRAM_G_SMRAME = 0x08;
    /** SMRAM bit 6: D_OPEN, SMRAM visible to non-SMM accesses (the RAM under 0xa0000-0xbffff). */
    public static final int SMRAM_D_OPEN = 0x40;
    /** PAM nibble bit 0: read enable. */
    public static final int PAM_RE = 0x1;
    /** PAM nibble bit 1: write enable. */
    public static final int PAM_WE = 0x2;
    /** The compatibility SMRAM window (the legacy video area). */
    public static final long SMRAM_WINDOW_BASE = 0xa0000;
    public static final long SMRAM_WINDOW_SIZE = 0x20000;
    /** PAM0's high nibble: the 64 KiB system BIOS area. */
    public static final long BIOS_WINDOW_BASE = 0xf0000;
    public static final long BIOS_WINDOW_SIZE = 0x10000;
    /** PAM1-PAM6: two 16 KiB windows each (low nibble, then high nibble) from 0xc0000 up. */
    public static final long EXPANSION_WINDOW_BASE = 0xc0000;
    public static final long EXPANSION_WINDOW_SIZE = 0x4000;
    /** The SMRAM window, the BIOS window, then the twelve expansion windows. */
    private static final int WINDOWS = 2 + 2 * (PAM_COUNT - 1);
    /** QEMU's I440FX_COREBOOT_RAM_SIZE: RAM size in 8 MiB units, at most 255, for coreboot. */
    public static final int COREBOOT_RAM_SIZE = 0x57;

    /** PAM values SeaBIOS leaves (make_bios_readonly): 0xf0000 read-only, 0xc0000-0xeffff read/write. */
    private static final int[] FIRMWARE_PAM = {0x10, 0x11, 0x11, 0x11, 0x11, 0x11, 0x33};

    /** QEMU's i440FX PCI function (hw/pci-host/i440fx.c); only the board creates it, at 00.0. */
    public static final TypeInfo TYPE = TypeInfo.type("i440FX", "pci-device").notUserCreatable().coldPlugOnly()
            .implementing("conventional-pci-device").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        I440fxHostBridge b = new I440fxHostBridge(ctx.ramSize(), ctx.lowMemory());
        PciPlacement.plug(ctx.pci(), b, TYPE.name(), p.number("addr"));
        return Realized.of(b);
    });

    private final PciConfigSpace config;
    private final LowMemoryWindows windows;
    /** What each window is mapped as now, so that a write maps only the windows it changes. */
    private final Access[] mapped = new Access[WINDOWS];

    /** ramSize: guest RAM in bytes (only QEMU's RAM-size byte depends on it); the windows stay RAM. */
    public I440fxHostBridge(long ramSize) {
        this(ramSize, LowMemoryWindows.FIXED_RAM);
    }

    /** windows: where the PAM and SMRAM settings take effect. */
    public I440fxHostBridge(long ramSize, LowMemoryWindows windows) {
        this.windows = windows;
        config = new PciConfigSpace(VENDOR_INTEL, DEVICE_82441, REVISION, CLASS_HOST_BRIDGE, 0);
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, SUBSYSTEM_VENDOR_QEMU);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, SUBSYSTEM_QEMU);
        config.set8(COREBOOT_RAM_SIZE, (int) Math.min(255, Math.max(0, ramSize) / (8L << 20)));
        config.set8(SMRAM, SMRAM_RESET);
        // QEMU leaves every device-specific byte writable on the i440FX
        for (int off = PciConfigSpace.DEVICE_SPECIFIC; off < PciConfigSpace.SIZE; off += 8) {
            config.setWritable(off, 8, -1L);
        }
        config.sealInitialState();
        mapWindows();
    }

    /**
     * What SeaBIOS leaves in the bridge for the kernel (read from QEMU 7.2 after boot): PAM as in
     * {@link #FIRMWARE_PAM} and SMRAM 0x0a (G_SMRAME set, SMRAM closed). Writes go through the guest
     * path; PciBus.assignResources() sets COMMAND.
     */
    public void applyFirmwareState() {
        for (int i = 0; i < PAM_COUNT; i++) {
            config.write(PAM0 + i, 1, FIRMWARE_PAM[i]);
        }
        config.write(SMRAM, 1, SMRAM_RESET | SMRAM_G_SMRAME);
    }

    public int pam(int index) {
        return config.get8(PAM0 + index);
    }

    public int smram() {
        return config.get8(SMRAM);
    }

    @Override
    public int readConfig(int offset, int size) {
        synchronized (config) {
            return config.read(offset, size);
        }
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        synchronized (config) {
            config.write(offset, size, value);
            if (offset < SMRAM + 1 && offset + size > PAM0) {
                mapWindows();
            }
        }
    }

    /** Maps every window whose access the registers changed (all of them the first time). */
    private void mapWindows() {
        int smram = config.get8(SMRAM);
        map(0, SMRAM_WINDOW_BASE, SMRAM_WINDOW_SIZE, (smram & SMRAM_D_OPEN) != 0 ? Access.RAM : Access.PCI);
        map(1, BIOS_WINDOW_BASE, BIOS_WINDOW_SIZE, access(config.get8(PAM0) >> 4));
        for (int i = 0; i < 2 * (PAM_COUNT - 1); i++) {
            int pam = config.get8(PAM0 + 1 + i / 2);
            map(2 + i, EXPANSION_WINDOW_BASE + i * EXPANSION_WINDOW_SIZE, EXPANSION_WINDOW_SIZE,
                    access((i & 1) == 0 ? pam : pam >> 4));
        }
    }

    private void map(int window, long base, long size, Access access) {
        if (mapped[window] != access) {
            mapped[window] = access;
            windows.map(base, size, access);
        }
    }

    private static Access access(int nibble) {
        if ((nibble & PAM_WE) != 0) {
            return Access.RAM;
        }
        return (nibble & PAM_RE) != 0 ? Access.RAM_READ_ONLY : Access.PCI;
    }

    @Override
    public String description() {
        return "Host bridge";
    }

    @Override
    public void reset() {
        synchronized (config) {
            config.reset();
            mapWindows();
        }
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** PAM and SMRAM live in the config space; loading maps the windows they describe. */
    @Override
    public void saveState(StateWriter w) {
        synchronized (config) {
            config.saveState(w);
        }
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        synchronized (config) {
            config.loadState(r);
            mapWindows();
        }
    }
}
