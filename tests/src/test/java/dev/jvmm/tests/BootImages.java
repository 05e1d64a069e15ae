package dev.jvmm.tests;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Boot media with a real bootloader (GNU GRUB 2, Debian's grub-pc-bin), built at test time into a temporary
 * directory from the installed packages, never committed: an El Torito CD image (grub-mkimage -O
 * i386-pc-eltorito, then xorriso) and a raw disk image with an MBR partition table, GRUB in the MBR and the gap
 * after it, and a FAT file system in partition 1 holding GRUB's modules and the kernel. Nothing is mounted and
 * no loop device is used.
 *
 * <p>The disk is laid out as grub-bios-setup lays out an embedded install:
 * <ul>
 * <li>sector 0: the first 440 bytes of boot.img (the partition table, disk signature and 0x55AA are ours),
 * with boot.img's kernel-sector field (offset 0x5c, 64-bit LBA of core.img's first sector) set to 1 and the
 * drive-check jump at 0x66 replaced by two NOPs, as grub-bios-setup does for a hard disk;</li>
 * <li>sectors 1..N: core.img from grub-mkimage -O i386-pc; its first sector is diskboot.img, whose block list
 * (the last 12 bytes of that sector: start LBA, sector count, load segment 0x820) grub-mkimage already fills
 * with start 2 and the count of the sectors after it, which is right for core.img at sector 1 - checked
 * here;</li>
 * <li>partition 1 from sector 2048 (1 MiB), FAT formatted by mtools (mformat) and filled by mcopy.</li>
 * </ul>
 * Both cores hold only what it takes to reach /boot/grub (biosdisk and part_msdos plus fat, or iso9660) and the
 * script ({@link #GRUB_SCRIPT}) as core.img's embedded config, which GRUB's kernel runs with its rescue parser:
 * GRUB never enters normal mode. The script loads its commands' modules with insmod from /boot/grub/i386-pc,
 * through the BIOS's INT 13h, as an installed GRUB loads them; only those modules are there. Under PVM (all
 * guest code emulated) this is what keeps a boot short: the modules in core.img are lzma-compressed and
 * decompressed by emulated code (a core.img holding the multiboot loader's dependencies costs ~20 s more than
 * loading them from the disk), and normal mode, a directory of all ~300 modules and grub-mkrescue's large core
 * made a boot ~2x longer (DESIGN.md, "Firmware boot").
 *
 * <p>The script switches GRUB to the serial console, prints what GRUB sees of the machine (lspci, lsmmap,
 * lsacpi, ls) between "grub:" markers and loads the tiny guest (a multiboot kernel) with action=poweroff: it
 * checks the ACPI tables and powers off through the PM1a control block (S5), so the run ends in SHUTDOWN.
 */
final class BootImages {
    static final String GRUB_DIR = "/usr/lib/grub/i386-pc";
    /** The tiny guest's file name on both media. */
    static final String KERNEL = "tiny.mb";
    /** The first line GRUB prints from grub.cfg: "the bootloader's first line". */
    static final String FIRST_LINE = "grub: begin";
    /** The tiny guest's last line before it writes SLP_TYP/SLP_EN for S5. */
    static final String LAST_LINE = "acpi: poweroff";
    /** GRUB modules put into the disk's core.img: what it takes to read /boot/grub from partition 1. */
    static final List<String> CORE_MODULES = List.of("biosdisk", "part_msdos", "fat");
    /** GRUB modules put into the CD's El Torito core.img: what it takes to read /boot/grub from the CD. */
    static final List<String> CD_CORE_MODULES = List.of("biosdisk", "iso9660");
    /** The modules of the commands the script runs, loaded by insmod (with their dependencies) from /boot/grub. */
    static final List<String> SCRIPT_MODULES = List.of("serial", "terminal", "echo", "lspci", "lsmmap", "lsacpi",
            "ls", "multiboot");
    /**
     * The script GRUB runs, embedded in core.img (grub-mkimage -c): GRUB's kernel runs an embedded config with
     * its rescue parser before it would load normal.mod, so GRUB never enters normal mode (no grub.cfg, no
     * command.lst or fs.lst, no normal-mode parser) and each command's module is loaded with insmod, which
     * also loads the modules it depends on (ls.mod depends on normal.mod: that module is loaded, normal mode is
     * not started). GRUB 2 passes a multiboot kernel only the words after its path as the command line; the
     * tiny guest skips the first word (the kernel's name under QEMU's -kernel), so the path is given twice.
     */
    static final String GRUB_SCRIPT = String.join("\n",
            "insmod serial",
            "insmod terminal",
            "serial --unit=0 --speed=115200",
            "terminal_input serial",
            "terminal_output serial",
            "insmod echo",
            "insmod lspci",
            "insmod lsmmap",
            "insmod lsacpi",
            "insmod ls",
            "insmod multiboot",
            "echo \"" + FIRST_LINE + "\"",
            "echo \"grub: lspci\"",
            "lspci",
            "echo \"grub: lsmmap\"",
            "lsmmap",
            "echo \"grub: lsacpi\"",
            "lsacpi",
            "echo \"grub: ls\"",
            "ls",
            "ls /",
            "echo \"grub: multiboot\"",
            "multiboot /" + KERNEL + " /" + KERNEL + " action=poweroff",
            "boot",
            "echo \"grub: boot failed\"",
            "insmod halt",
            "halt",
            "");

    static final int SECTOR = 512;
    static final int PART_START = 2048;
    static final int PART_SECTORS = 30720; // 15 MiB
    static final long DISK_BYTES = (long) (PART_START + PART_SECTORS) * SECTOR;
    static final int DISK_SIGNATURE = 0x6a766d6d; // "jvmm"

    private BootImages() {
    }

    /** Skips the test, naming what is missing, unless GRUB's BIOS files and the tools these images need exist. */
    static void assumeTools() {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("grub-mkimage", "xorriso", "mformat", "mmd", "mcopy")) {
            if (!onPath(tool)) {
                missing.add(tool);
            }
        }
        for (String f : List.of("boot.img", "diskboot.img", "cdboot.img", "kernel.img", "moddep.lst")) {
            if (!Files.isRegularFile(Path.of(GRUB_DIR, f))) {
                missing.add(GRUB_DIR + "/" + f);
            }
        }
        Assumptions.assumeTrue(missing.isEmpty(), "GRUB boot media cannot be built, missing " + missing
                + " (Debian packages grub-pc-bin, grub-common, xorriso, mtools; scripts/setup.sh installs them)");
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The modules to copy to /boot/grub/i386-pc: the script's modules and, from GRUB's moddep.lst, all they
     * depend on, and halt. Only these: GRUB finds a module by scanning its directory, so a directory holding all
     * of GRUB's ~300 modules makes each insmod slower (under PVM, a disk boot's first line came ~18 s later).
     */
    static List<String> moduleClosure() throws IOException {
        java.util.Map<String, List<String>> deps = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of(GRUB_DIR, "moddep.lst"))) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                String rest = line.substring(colon + 1).trim();
                deps.put(line.substring(0, colon).trim(), rest.isEmpty() ? List.of() : List.of(rest.split("\\s+")));
            }
        }
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(SCRIPT_MODULES);
        todo.add("halt");
        while (!todo.isEmpty()) {
            String m = todo.pop();
            if (out.add(m)) {
                todo.addAll(deps.getOrDefault(m, List.of()));
            }
        }
        return new ArrayList<>(out);
    }

    /** The module files of {@link #moduleClosure()}, as paths under GRUB_DIR. */
    static List<String> moduleFiles() throws IOException {
        List<String> files = new ArrayList<>();
        for (String m : moduleClosure()) {
            Path f = Path.of(GRUB_DIR, m + ".mod");
            if (!Files.isRegularFile(f)) {
                throw new IllegalStateException("GRUB module missing: " + f);
            }
            files.add(f.toString());
        }
        return files;
    }

    /**
     * Builds the El Torito CD image dir/grub.iso: a no-emulation boot image made by grub-mkimage -O
     * i386-pc-eltorito (cdboot.img and a core holding biosdisk and iso9660, with the script embedded; GRUB's
     * prefix /boot/grub on the boot device, the CD), GRUB's boot information table filled by xorriso
     * (-boot-info-table, which cdboot.img reads), the script's modules in /boot/grub/i386-pc and the kernel.
     */
    static Path iso(Path dir, Path kernel) {
        try {
            Path tree = Files.createDirectories(dir.resolve("iso-tree"));
            Path mods = Files.createDirectories(tree.resolve("boot/grub/i386-pc"));
            for (String f : moduleFiles()) {
                Files.copy(Path.of(f), mods.resolve(Path.of(f).getFileName()));
            }
            Files.copy(kernel, tree.resolve(KERNEL));
            Path cfg = dir.resolve("cd-embedded.cfg");
            Files.writeString(cfg, GRUB_SCRIPT);
            List<String> mk = new ArrayList<>(List.of("grub-mkimage", "-d", GRUB_DIR, "-O", "i386-pc-eltorito",
                    "-o", tree.resolve("boot/grub/eltorito.img").toString(), "-p", "/boot/grub", "-c",
                    cfg.toString()));
            mk.addAll(CD_CORE_MODULES);
            exec(dir, mk.toArray(new String[0]));
            Path iso = dir.resolve("grub.iso");
            exec(dir, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "JVMMGRUB", "-o", iso.toString(),
                    "-b", "boot/grub/eltorito.img", "-c", "boot/grub/boot.cat", "-no-emul-boot",
                    "-boot-load-size", "4", "-boot-info-table", tree.toString());
            return iso;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds the partitioned raw disk image dir/grub-disk.img. */
    static Path disk(Path dir, Path kernel) {
        try {
            Path core = dir.resolve("core.img");
            Path embedded = dir.resolve("disk-embedded.cfg");
            Files.writeString(embedded, GRUB_SCRIPT);
            List<String> mk = new ArrayList<>(List.of("grub-mkimage", "-d", GRUB_DIR, "-O", "i386-pc", "-o",
                    core.toString(), "-p", "(hd0,msdos1)/boot/grub", "-c", embedded.toString()));
            mk.addAll(CORE_MODULES);
            exec(dir, mk.toArray(new String[0]));
            byte[] coreImg = Files.readAllBytes(core);
            int coreSectors = (coreImg.length + SECTOR - 1) / SECTOR;
            if (1 + coreSectors > PART_START) {
                throw new IllegalStateException("core.img (" + coreImg.length + " bytes) does not fit before "
                        + "partition 1");
            }
            // diskboot.img's block list, as grub-mkimage left it: start LBA 2, the rest of core.img, segment 0x820.
            ByteBuffer bl = ByteBuffer.wrap(coreImg, SECTOR - 12, 12).order(ByteOrder.LITTLE_ENDIAN);
            long start = bl.getLong();
            int len = Short.toUnsignedInt(bl.getShort());
            int seg = Short.toUnsignedInt(bl.getShort());
            if (start != 2 || len != coreSectors - 1 || seg != 0x820) {
                throw new IllegalStateException("unexpected diskboot block list: start " + start + " len " + len
                        + " segment 0x" + Integer.toHexString(seg) + " for " + coreSectors + " sectors");
            }

            Path part = dir.resolve("part.img");
            try (var ch = java.nio.channels.FileChannel.open(part, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), (long) PART_SECTORS * SECTOR - 1);
            }
            String img = part.toString();
            // Fixed volume serial and label: what GRUB could print of the file system is the same every build;
            // 4 KiB clusters: fewer FAT lookups and BIOS reads per module than 512-byte ones (a faster boot).
            exec(dir, "mformat", "-i", img, "-N", Integer.toHexString(DISK_SIGNATURE), "-v", "JVMMGRUB",
                    "-H", Integer.toString(PART_START), "-T", Integer.toString(PART_SECTORS), "-h", "64", "-s", "32",
                    "-c", "8",
                    "::");
            exec(dir, "mmd", "-i", img, "::/boot", "::/boot/grub", "::/boot/grub/i386-pc");
            List<String> mods = new ArrayList<>(List.of("mcopy", "-i", img));
            mods.addAll(moduleFiles());
            mods.add("::/boot/grub/i386-pc/");
            exec(dir, mods.toArray(new String[0]));
            exec(dir, "mcopy", "-i", img, kernel.toString(), "::/" + KERNEL);
            byte[] fs = Files.readAllBytes(part);

            byte[] bootImg = Files.readAllBytes(Path.of(GRUB_DIR, "boot.img"));
            ByteBuffer mbr = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
            mbr.put(bootImg, 0, 440);
            mbr.putLong(0x5c, 1);                 // GRUB_BOOT_MACHINE_KERNEL_SECTOR: core.img at LBA 1
            if ((bootImg[0x64] & 0xff) != 0xff) { // GRUB_BOOT_MACHINE_BOOT_DRIVE: 0xff = use the BIOS's %dl
                throw new IllegalStateException("unexpected boot.img boot drive byte");
            }
            mbr.put(0x66, (byte) 0x90).put(0x67, (byte) 0x90); // GRUB_BOOT_MACHINE_DRIVE_CHECK, as for a hard disk
            mbr.putInt(0x1b8, DISK_SIGNATURE);
            mbr.position(0x1be);
            mbr.put((byte) 0x80).put(chs(PART_START)).put((byte) 0x0e) // active, FAT16 (LBA)
                    .put(chs(PART_START + PART_SECTORS - 1)).putInt(PART_START).putInt(PART_SECTORS);
            mbr.put(510, (byte) 0x55).put(511, (byte) 0xaa);

            Path disk = dir.resolve("grub-disk.img");
            try (var ch = java.nio.channels.FileChannel.open(disk, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(mbr.rewind(), 0);
                ch.write(ByteBuffer.wrap(coreImg), SECTOR);
                ch.write(ByteBuffer.wrap(fs), (long) PART_START * SECTOR);
                ch.truncate(DISK_BYTES);
                if (ch.size() < DISK_BYTES) {
                    ch.write(ByteBuffer.wrap(new byte[1]), DISK_BYTES - 1);
                }
            }
            return disk;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A partition entry's CHS address for an LBA under the usual 255-head, 63-sector geometry. */
    static byte[] chs(long lba) {
        long c = lba / (255 * 63);
        long h = (lba / 63) % 255;
        long s = lba % 63 + 1;
        if (c > 1023) {
            return new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xff};
        }
        return new byte[] {(byte) h, (byte) (s | ((c >> 8) << 6)), (byte) c};
    }

    /** Runs a tool in dir; fails with its output unless it exits 0 within a minute. */
    static void exec(Path dir, String... command) {
        try {
            Path log = Files.createTempFile(dir, "tool", ".log");
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(String.join(" ", command) + ": still running after 60 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited " + p.exitValue() + ": "
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
