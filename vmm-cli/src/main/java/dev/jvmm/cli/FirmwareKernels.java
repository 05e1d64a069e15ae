package dev.jvmm.cli;

import dev.jvmm.devices.pc.PcFirmwareConfig;
import dev.jvmm.kvm.boot.FirmwareKernel;
import dev.jvmm.kvm.boot.KernelLoadException;
import dev.jvmm.kvm.boot.KernelLoader;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.Optional;

/**
 * -kernel as QEMU 7.2 hands it to the firmware: {@link FirmwareKernel}'s items with the option ROM's bytes,
 * found as firmware files are found. With -bios this is how the kernel boots; without, jvmm enters the kernel
 * itself and the items are in fw_cfg all the same, so a guest reading fw_cfg finds what it finds under QEMU.
 */
final class FirmwareKernels {
    private FirmwareKernels() {
    }

    /**
     * The kernel's fw_cfg form; null without -kernel, or in direct boot when QEMU's hand-over refuses a kernel
     * the direct loader may still take (that loader then reports problems in its own words).
     */
    static FirmwareKernel of(MachineConfig config, KernelLoader.Request kernel, long belowFourGiB) {
        if (kernel == null) {
            return null;
        }
        try {
            return FirmwareKernel.of(kernel, belowFourGiB);
        } catch (KernelLoadException e) {
            if (config.firmwareBoot()) {
                throw new LaunchException(e.getMessage());
            }
            return null;
        }
    }

    /**
     * The items and the ROM for PcFirmwareConfig. A ROM that cannot be read is left out; with -bios that is
     * QEMU's message (printed without the program's name, as QEMU's fprintf) and a machine that starts anyway.
     */
    static Optional<PcFirmwareConfig.KernelItems> items(FirmwareKernel kernel, MachineConfig config,
                                                        PrintStream err) {
        if (kernel == null) {
            return Optional.empty();
        }
        String name = kernel.optionRom();
        Optional<byte[]> rom = config.firmware().find(name).flatMap(p -> {
            try {
                return Optional.of(Files.readAllBytes(p));
            } catch (IOException e) {
                return Optional.empty();
            }
        });
        if (rom.isEmpty() && config.firmwareBoot()) {
            err.println(FirmwareKernel.missingRomMessage(name));
        }
        return Optional.of(new PcFirmwareConfig.KernelItems(kernel.items(), name, rom));
    }
}
