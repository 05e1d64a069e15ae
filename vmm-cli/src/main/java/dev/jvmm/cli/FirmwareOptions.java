package dev.jvmm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * -bios and -L: the firmware image and where firmware files are looked for, as QEMU 7.2's qemu_find_file
 * does it (softmmu/datadir.c): the name as given if it is a readable file, else each -L directory, then the
 * directories Debian builds QEMU with (its --firmwarepath and data directory).
 *
 * @param bios     -bios, the name to look for; QEMU's pc machine defaults to {@value #DEFAULT_BIOS}
 * @param dataDirs the -L directories, searched first
 * @param fwCfgFiles the -fw_cfg files, in order, checked as QEMU checks them
 */
record FirmwareOptions(Optional<String> bios, List<String> dataDirs, List<FwCfgArg> fwCfgFiles) {
    /** SeaBIOS built for QEMU, 256 KiB (Debian's seabios package), QEMU 7.2's default for pc machines. */
    static final String DEFAULT_BIOS = "bios-256k.bin";
    /** Where Debian's QEMU 7.2 finds firmware, in its order. */
    static final List<String> SYSTEM_DIRS = List.of("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu");
    /** QEMU refuses firmware images that are not whole 64 KiB blocks (hw/i386/x86.c x86_bios_rom_init). */
    static final int BIOS_BLOCK = 65536;
    /** The ROM ends at 4 GiB and must stay above the IOAPIC and HPET, as in QEMU (16 MiB there). */
    static final int BIOS_MAX = 16 << 20;

    /** The firmware file for the machine; an error names it as QEMU does. */
    byte[] readBios() {
        String name = bios.orElse(DEFAULT_BIOS);
        Optional<Path> file = find(name);
        try {
            if (file.isPresent()) {
                long size = Files.size(file.get());
                if (size > 0 && size % BIOS_BLOCK == 0 && size <= BIOS_MAX) {
                    return Files.readAllBytes(file.get());
                }
            }
        } catch (IOException e) {
            // reported as QEMU reports any unusable image
        }
        throw new LaunchException("could not load PC BIOS '" + name + "'");
    }

    /** A firmware file (the BIOS, an option ROM) by QEMU's search rules. */
    Optional<Path> find(String name) {
        Path direct = Path.of(name);
        if (Files.isRegularFile(direct) && Files.isReadable(direct)) {
            return Optional.of(direct);
        }
        List<String> dirs = new ArrayList<>(dataDirs);
        dirs.addAll(SYSTEM_DIRS);
        for (String dir : dirs) {
            Path p = Path.of(dir).resolve(name);
            if (Files.isRegularFile(p) && Files.isReadable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
