package dev.jvmm.devices.pci;

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
 * PAM registers 0, and QEMU's RAM-size byte at 0x57. PAM and SMRAM are plain registers here: jvmm keeps
 * 0xc0000-0xfffff as RAM, so their values are what the guest reads back, with no remapping behind them.
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
    /** QEMU's I440FX_COREBOOT_RAM_SIZE: RAM size in 8 MiB units, at most 255, for coreboot. */
    public static final int COREBOOT_RAM_SIZE = 0x57;

    /** PAM values SeaBIOS leaves (make_bios_readonly): 0xf0000 read-only, 0xc0000-0xeffff read/write. */
    private static final int[] FIRMWARE_PAM = {0x10, 0x11, 0x11, 0x11, 0x11, 0x11, 0x33};

    /** QEMU's i440FX PCI function (hw/pci-host/i440fx.c); only the board creates it, at 00.0. */
    public static final TypeInfo TYPE = TypeInfo.type("i440FX", "pci-device").notUserCreatable()
            .implementing("conventional-pci-device").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        I440fxHostBridge b = new I440fxHostBridge(ctx.ramSize());
        PciPlacement.plug(ctx.pci(), b, TYPE.name(), p.number("addr"));
        return Realized.of(b);
    });

    private final PciConfigSpace config;

    /** ramSize: guest RAM in bytes (only QEMU's RAM-size byte depends on it). */
    public I440fxHostBridge(long ramSize) {
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
        }
    }

    @Override
    public String description() {
        return "Host bridge";
    }

    @Override
    public void reset() {
        synchronized (config) {
            config.reset();
        }
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /** PAM and SMRAM live in the config space and have no effect beyond it (see the class comment). */
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
        }
    }
}
