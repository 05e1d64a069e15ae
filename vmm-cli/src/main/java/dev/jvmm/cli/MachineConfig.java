package dev.jvmm.cli;

import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.qom.Globals;
import dev.jvmm.devices.pc.PcProperties;
import dev.jvmm.devices.smbios.SmbiosOptions;
import dev.jvmm.kvm.seccomp.Sandbox;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A validated machine description built from the command line: what to build, before anything is built.
 *
 * @param memoryHotplug -m maxmem= and slots=
 * @param serials     one backend spec per COM port in order (-serial values, or the default)
 * @param uuid        the machine UUID: the last of -uuid and -smbios type=1,uuid=, as QEMU keeps one; it is
 *                    the SMBIOS type 1 UUID and fw_cfg's FW_CFG_UUID (key 0x02)
 * @param smbios      the -smbios options, parsed and checked (file= blobs read), for the SMBIOS builder
 * @param cpu the -cpu value (model and its settings), QEMU's default model when -cpu is absent
 * @param drives      -drive values and the -hda..-hdd/-cdrom shorthands as -drive texts, in command-line order
 *                    (parsed by the block layer, which owns their defaults)
 * @param blockdevs   -blockdev values, in order (key=value or JSON)
 * @param acpi        ACPI present: -machine acpi and -no-acpi together
 * @param pc          the other -machine properties jvmm applies
 * @param globals     the -global settings, in order
 * @param addFds      the -add-fd values, in order
 * @param sandboxes   one seccomp filter per -sandbox that is on, in order (each is installed, as QEMU stacks them)
 * @param host        -name's process settings, -object, -overcommit, -audiodev, -boot
 * @param firmware    -bios, -L and -fw_cfg: the firmware, where its files are found and what it is given
 * @param net         -netdev, -nic and -net, and whether QEMU's default network applies
 */
record MachineConfig(
        long ramBytes,
        MemoryHotplugSize memoryHotplug,
        SmpTopology smp,
        Optional<Path> kernel,
        Optional<Path> initrd,
        String append,
        String cpu,
        Optional<String> name,
        Optional<UUID> uuid,
        SmbiosOptions smbios,
        boolean noReboot,
        boolean noShutdown,
        boolean startPaused,
        boolean acpi,
        PcProperties pc,
        boolean nodefaults,
        String rtc,
        List<String> chardevs,
        List<String> serials,
        List<QemuOpts> devices,
        Globals globals,
        List<DriveArg> drives,
        List<String> blockdevs,
        boolean snapshot,
        List<String> qmp,
        List<String> monitors,
        List<String> actions,
        List<String> addFds,
        List<SandboxArg> sandboxes,
        HostOptions host,
        FirmwareOptions firmware,
        NetOptions net) {
    /** One enabled -sandbox: the option as written (for QEMU's error prefix) and the filter it asks for. */
    record SandboxArg(String option, Sandbox sandbox) {
    }

    /**
     * Whether firmware boots the machine: always without -kernel, and with -kernel when -bios names the
     * firmware that is to load it (QEMU always runs firmware; jvmm enters a -kernel directly otherwise).
     */
    boolean firmwareBoot() {
        return kernel.isEmpty() || firmware.bios().isPresent();
    }

    /** The -fw_cfg files, in order, checked as QEMU checks them. */
    List<FwCfgArg> fwCfgFiles() {
        return firmware.fwCfgFiles();
    }
}
