package dev.jvmm.devices.pc;

import dev.jvmm.devices.acpi.AcpiFirmwareFiles;
import dev.jvmm.devices.fwcfg.BiosLinkerLoader;
import dev.jvmm.devices.fwcfg.FwCfgItems;
import dev.jvmm.devices.smbios.SmbiosTables;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What QEMU 7.2's pc machine puts in fw_cfg (docs/specs/fw_cfg.rst; hw/i386/fw_cfg.c fw_cfg_arch_create,
 * hw/nvram/fw_cfg.c fw_cfg_common_realize, hw/i386/pc.c pc_machine_done, softmmu/bootdevice.c): the legacy
 * keys, etc/e820, the ACPI and SMBIOS blobs, bootorder with the boot settings, etc/system-states and the -fw_cfg
 * files. The same content serves a firmware boot and a direct kernel boot (where guests may read it too).
 */
public final class PcFirmwareConfig {
    /** struct e820_entry: u64 address, u64 length, u32 type, packed little-endian. */
    public static final int E820_ENTRY_SIZE = 20;
    public static final int E820_RAM = 1;
    public static final int E820_RESERVED = 2;
    /** struct hpet_fw_entry: u32 event_timer_block_id, u64 address, u16 min_tick, u8 page_prot. */
    public static final int HPET_FW_ENTRY_SIZE = 15;
    /** hpet_cfg.count before any HPET is realized: QEMU leaves it at UINT8_MAX without one. */
    public static final int HPET_COUNT_NONE = 0xff;
    /** softmmu/bootdevice.c: -boot strict=on ends the list with this line, so the firmware boots nothing else. */
    public static final String BOOT_STRICT_HALT = "HALT";

    private PcFirmwareConfig() {
    }

    /** One etc/e820 entry. */
    public record E820Entry(long address, long length, int type) {
    }

    /**
     * -boot's firmware settings.
     *
     * @param menu          menu=on
     * @param splashTime    splash-time in ms, or -1 when not given (then no etc/boot-menu-wait)
     * @param rebootTimeout reboot-timeout in ms, -1 (QEMU's default) for none
     * @param strict        strict=on
     */
    public record BootSettings(boolean menu, int splashTime, int rebootTimeout, boolean strict) {
        public static final BootSettings DEFAULT = new BootSettings(false, -1, -1, false);
    }

    /** A -fw_cfg file: its name and bytes. */
    public record UserFile(String name, byte[] content) {
    }

    /**
     * -kernel for the firmware (QEMU's x86_load_linux and load_multiboot): the legacy kernel items by fw_cfg key,
     * and the option ROM that loads and enters the kernel, added as "genroms/NAME" with bootindex 0 as QEMU's
     * rom_add_option does, so SeaBIOS runs it first. Without the ROM's bytes (QEMU could not open it either) the
     * items are there and nothing boots them.
     */
    public record KernelItems(Map<Integer, byte[]> items, String romName, Optional<byte[]> rom) {
        public KernelItems {
            items = Collections.unmodifiableMap(new LinkedHashMap<>(items));
        }

        /** The ROM's firmware device path in bootorder (hw/core/loader.c: "/rom@" and its fw_cfg name). */
        public String bootPath() {
            return "/rom@" + GENROMS + romName;
        }
    }

    /** Where QEMU's rom_add_option puts the option ROMs it hands the firmware (hw/core/loader.c). */
    public static final String GENROMS = "genroms/";

    /** The HPET as the firmware learns of it: its GCAP_ID low dword and MMIO address. */
    public record HpetInfo(int eventTimerBlockId, long address) {
    }

    /**
     * Everything the content depends on.
     *
     * @param uuid        the machine UUID (-uuid, -smbios type=1,uuid=)
     * @param graphics    false with -nographic or graphics=off (SeaBIOS then uses the serial console)
     * @param boot        -boot menu, splash-time, reboot-timeout, strict
     * @param bootCpus    vCPUs at start
     * @param apicIdLimit the highest possible APIC id plus one
     * @param ramSize     all guest RAM
     * @param e820        etc/e820's entries, in QEMU's order
     * @param hpet        the HPET, if the board has one
     * @param acpi        the ACPI blobs, if the board has ACPI
     * @param smbios      the SMBIOS blobs
     * @param systemStates etc/system-states (6 bytes), if the board has PIIX4 PM
     * @param bootOrder   the firmware device paths of the devices with a bootindex, lowest index first
     * @param featureControl IA32_FEATURE_CONTROL for etc/msr_feature_control, 0 for none
     * @param optionRoms  option ROMs the firmware runs, by their names under "genroms/"
     * @param userFiles   the -fw_cfg files
     * @param kernel      the -kernel items, when there is a -kernel
     */
    public record Settings(Optional<UUID> uuid, boolean graphics, BootSettings boot, int bootCpus, int apicIdLimit,
                           long ramSize, List<E820Entry> e820, Optional<HpetInfo> hpet,
                           Optional<AcpiFirmwareFiles> acpi, SmbiosTables smbios, Optional<byte[]> systemStates,
                           List<String> bootOrder, long featureControl, List<UserFile> optionRoms,
                           List<UserFile> userFiles, Optional<KernelItems> kernel) {
    }

    /**
     * The fw_cfg content. A -fw_cfg file whose name the machine already uses fails as in QEMU
     * ("duplicate fw_cfg file name: NAME", an IllegalArgumentException from {@link FwCfgItems}).
     */
    public static FwCfgItems build(Settings s) {
        FwCfgItems items = FwCfgItems.pc(new FwCfgItems.PcSettings(SmbiosTables.fwCfgUuid(s.uuid()), s.graphics(),
                s.boot().menu(), s.boot().rebootTimeout(), s.bootCpus(), s.apicIdLimit(), s.ramSize(),
                new byte[FwCfgItems.PcSettings.E820_TABLE_SIZE], hpetConfig(s.hpet())));
        items.addFile("etc/e820", e820(s.e820()));
        if (s.boot().menu() && s.boot().splashTime() >= 0) {
            items.addFile("etc/boot-menu-wait", le(2).putShort((short) s.boot().splashTime()).array());
        }
        List<String> bootOrder = new ArrayList<>();
        s.kernel().ifPresent(k -> {
            k.items().forEach(items::add);
            k.rom().ifPresent(rom -> {
                items.addFile(GENROMS + k.romName(), rom);
                // bootindex 0: QEMU adds the ROM's path while building the machine, before any device's
                bootOrder.add(k.bootPath());
            });
        });
        bootOrder.addAll(s.bootOrder());
        items.addFile("bootorder", bootOrder(bootOrder, s.boot().strict()));
        // no -device with logical CHS geometry (lcyls/lheads/lsecs): the list is empty, but the file is there
        items.addFile("bios-geometry", new byte[0]);
        s.acpi().ifPresent(a -> {
            items.addFile(AcpiFirmwareFiles.TABLE_FILE, a.tables());
            items.addFile(AcpiFirmwareFiles.RSDP_FILE, a.rsdp());
            items.addFile(BiosLinkerLoader.LOADER_FILE, a.loader());
            // the TPM event log, empty without a TPM
            items.addFile("etc/tpm/log", new byte[0]);
        });
        s.systemStates().ifPresent(b -> items.addFile("etc/system-states", b));
        items.addFile(SmbiosTables.TABLES_FILE, s.smbios().tables());
        items.addFile(SmbiosTables.ANCHOR_FILE, s.smbios().anchor());
        if (s.featureControl() != 0) {
            items.addFile("etc/msr_feature_control", le(8).putLong(s.featureControl()).array());
        }
        for (UserFile rom : s.optionRoms()) {
            items.addFile(GENROMS + rom.name(), rom.content());
        }
        for (UserFile f : s.userFiles()) {
            items.addFile(f.name(), f.content());
        }
        return items;
    }

    /** IA32_FEATURE_CONTROL bit 0: locked, as firmware must leave it. */
    public static final long FEATURE_CONTROL_LOCKED = 1;
    /** Bit 2: VMXON outside SMX operation. */
    public static final long FEATURE_CONTROL_VMXON_ENABLED_OUTSIDE_SMX = 1 << 2;
    /** Bit 17: SGX launch control. */
    public static final long FEATURE_CONTROL_SGX_LC = 1 << 17;
    /** Bit 18: SGX enable. */
    public static final long FEATURE_CONTROL_SGX = 1 << 18;

    /**
     * What QEMU's fw_cfg_build_feature_control asks the firmware to write into IA32_FEATURE_CONTROL for a vCPU
     * with these features (LMCE is never set: jvmm's vCPUs have no MCG_CAP.LMCE_P); 0 when nothing is asked,
     * and then QEMU adds no etc/msr_feature_control.
     */
    public static long featureControl(boolean vmx, boolean sgx, boolean sgxLc) {
        long bits = (vmx ? FEATURE_CONTROL_VMXON_ENABLED_OUTSIDE_SMX : 0) | (sgx ? FEATURE_CONTROL_SGX : 0)
                | (sgxLc ? FEATURE_CONTROL_SGX_LC : 0);
        return bits == 0 ? 0 : bits | FEATURE_CONTROL_LOCKED;
    }

    /** The packed entries of etc/e820. */
    static byte[] e820(List<E820Entry> entries) {
        ByteBuffer b = le(E820_ENTRY_SIZE * entries.size());
        for (E820Entry e : entries) {
            b.putLong(e.address()).putLong(e.length()).putInt(e.type());
        }
        return b.array();
    }

    /** The paths, one per line, the last newline replaced by the NUL that ends the file; empty for none. */
    static byte[] bootOrder(List<String> paths, boolean strict) {
        if (paths.isEmpty()) {
            return new byte[0];
        }
        StringBuilder sb = new StringBuilder();
        for (String p : paths) {
            sb.append(p).append('\n');
        }
        if (strict) {
            sb.append(BOOT_STRICT_HALT).append('\n');
        }
        byte[] b = sb.toString().getBytes(StandardCharsets.US_ASCII);
        b[b.length - 1] = 0;
        return b;
    }

    /** QEMU's hpet_cfg: count, then up to 8 entries. */
    static byte[] hpetConfig(Optional<HpetInfo> hpet) {
        ByteBuffer b = le(FwCfgItems.PcSettings.HPET_CONFIG_SIZE);
        if (hpet.isEmpty()) {
            b.put((byte) HPET_COUNT_NONE);
        } else {
            b.put((byte) 1).putInt(hpet.get().eventTimerBlockId()).putLong(hpet.get().address());
        }
        return b.array();
    }

    /**
     * etc/system-states for PIIX4 PM (hw/acpi/piix4.c): S0..S5, each the SLP_TYP value with bit 7 set when the
     * state is enabled; S1 and S2 are never offered, S3 is type 1, S4 type s4_val.
     */
    public static byte[] systemStates(boolean s3, boolean s4, int s4Val) {
        byte enabled = (byte) 0x80;
        return new byte[] {enabled, 0, 0, (byte) ((s3 ? 0x80 : 0) | 1), (byte) ((s4 ? 0x80 : 0) | (s4Val & 7)),
            enabled};
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
