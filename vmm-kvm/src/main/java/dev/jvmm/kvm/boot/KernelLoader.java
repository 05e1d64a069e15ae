package dev.jvmm.kvm.boot;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.GuestMemoryException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.AccessDeniedException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * -kernel/-append/-initrd: detects the image format in QEMU's order (Linux "HdrS" header, then ELF with a
 * Xen PVH entry note, then a multiboot v1 header), loads it into guest RAM together with its boot
 * structures and the boot GDT, and returns the entry for {@code Vcpu.resetToEntry}.
 */
public final class KernelLoader {
    /** Command line address of Linux and PVH kernels: below the EBDA, above their boot structures. */
    public static final long CMDLINE_ADDR = 0x20000;

    private KernelLoader() {
    }

    /**
     * What to load: the kernel's name (for messages) and bytes, the command line, the optional initrd (its
     * -initrd value and, for a Linux or PVH kernel, its bytes) and, for a multiboot kernel, the modules that
     * -initrd names.
     */
    public record Request(String kernelName, byte[] kernel, String cmdline, String initrdName, byte[] initrd,
                          List<MultibootModule> modules) {
        public Request {
            cmdline = cmdline == null ? "" : cmdline;
            modules = List.copyOf(modules);
        }

        /** A request whose initrd, if any, is also the one multiboot module, named by initrdName. */
        public Request(String kernelName, byte[] kernel, String cmdline, String initrdName, byte[] initrd) {
            this(kernelName, kernel, cmdline, initrdName, initrd, initrd == null ? List.of()
                    : List.of(new MultibootModule(initrdName == null ? "" : initrdName, initrd)));
        }
    }

    /** Reads the files and loads them; any problem is a {@link KernelLoadException} naming the file. */
    public static BootEntry load(GuestMemory mem, MemoryLayout layout, Path kernel, String cmdline, Path initrd) {
        return load(mem, layout, request(kernel, cmdline, initrd));
    }

    /**
     * Reads the kernel and initrd files once (a machine reloads the same bytes on every reset, as QEMU's
     * firmware does from fw_cfg); any problem is a {@link KernelLoadException} naming the file.
     */
    public static Request request(Path kernel, String cmdline, Path initrd) {
        byte[] k = readFile(kernel, "kernel");
        if (initrd == null) {
            return new Request(kernel.toString(), k, cmdline, null, null, List.of());
        }
        if (isMultiboot(k)) {
            List<MultibootModule> modules = new ArrayList<>();
            for (String text : MultibootModule.split(initrd.toString())) {
                modules.add(new MultibootModule(text, readModule(MultibootModule.fileOf(text))));
            }
            return new Request(kernel.toString(), k, cmdline, initrd.toString(), null, modules);
        }
        return new Request(kernel.toString(), k, cmdline, initrd.toString(), readFile(initrd, "initrd"), List.of());
    }

    /** Whether the loader will boot these bytes as a multiboot kernel (so -initrd names modules). */
    static boolean isMultiboot(byte[] kernel) {
        try {
            return detect(new Image(kernel)) == BootEntry.Format.MULTIBOOT;
        } catch (ImageError e) {
            return false; // loading reports what is wrong with the image
        }
    }

    private static byte[] readModule(String file) {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (IOException | InvalidPathException | OutOfMemoryError e) {
            throw new KernelLoadException("Failed to open file '" + file + "'"); // QEMU's words
        }
    }

    /** Reads a whole boot file; what ("kernel", "initrd") names it in the error. */
    public static byte[] readFile(Path p, String what) {
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new KernelLoadException("could not load " + what + " '" + p + "': No such file or directory");
        } catch (AccessDeniedException e) {
            throw new KernelLoadException("could not load " + what + " '" + p + "': Permission denied");
        } catch (IOException | OutOfMemoryError e) {
            throw new KernelLoadException("could not load " + what + " '" + p + "': " + e.getMessage());
        }
    }

    public static BootEntry load(GuestMemory mem, MemoryLayout layout, Request req) {
        try {
            BootEntry e = loadImage(mem, layout, req);
            BootGdt.write(mem);
            return e;
        } catch (ImageError | GuestMemoryException e) {
            throw new KernelLoadException("could not load kernel '" + req.kernelName() + "': " + e.getMessage());
        }
    }

    private static BootEntry loadImage(GuestMemory mem, MemoryLayout layout, Request req) {
        Image img = new Image(req.kernel());
        return switch (detect(img)) {
            case BZIMAGE -> BzImageLoader.load(img, mem, layout, req);
            case PVH -> {
                ElfImage elf = ElfImage.parse(img);
                yield PvhLoader.load(img, elf, PvhLoader.entryPoint(img, elf), mem, layout, req);
            }
            case MULTIBOOT -> MultibootLoader.load(img, MultibootLoader.findHeader(img), mem, layout, req);
        };
    }

    /** The image's format in QEMU's order: Linux "HdrS", then ELF with a PVH note, then a multiboot header. */
    static BootEntry.Format detect(Image img) {
        if (BzImageLoader.matches(img)) {
            return BootEntry.Format.BZIMAGE;
        }
        boolean elf64WithoutNote = false;
        if (ElfImage.isElf(img)) {
            ElfImage elf = ElfImage.parse(img);
            if (PvhLoader.entryPoint(img, elf) != null) {
                return BootEntry.Format.PVH;
            }
            elf64WithoutNote = elf.is64;
        }
        if (MultibootLoader.findHeader(img) >= 0) {
            return BootEntry.Format.MULTIBOOT;
        }
        if (elf64WithoutNote) {
            throw new ImageError("Error loading uncompressed kernel without PVH ELF Note"); // QEMU's words
        }
        if (img.length() == 0) {
            throw new ImageError("file is empty");
        }
        throw new ImageError("not a Linux bzImage, PVH ELF or multiboot image");
    }

    /**
     * Points the loaded kernel at the ACPI RSDP once the tables are built: boot_params.acpi_rsdp_addr for a
     * bzImage, hvm_start_info.rsdp_paddr for PVH. Multiboot v1 has no field; such kernels scan the BIOS area.
     */
    public static void setRsdp(GuestMemory mem, BootEntry entry, long rsdpAddr) {
        switch (entry.format()) {
            case BZIMAGE -> mem.writeLong(entry.esi() + BzImageLoader.BP_ACPI_RSDP_ADDR, rsdpAddr);
            case PVH -> mem.writeLong(entry.ebx() + PvhLoader.START_INFO_RSDP_PADDR, rsdpAddr);
            case MULTIBOOT -> { }
        }
    }

    /**
     * Places an initrd at the highest page-aligned address whose end is at or below limit, and not below
     * floor (the end of the kernel). Returns the guest address.
     */
    static long placeInitrd(GuestMemory mem, byte[] initrd, long limit, long floor) {
        long addr = (limit - initrd.length) & ~0xfffL;
        if (addr < floor || addr < 0) {
            throw new ImageError(String.format("initrd (%d bytes) does not fit in guest RAM below 0x%x",
                    initrd.length, limit));
        }
        Image.checkRam(mem, addr, initrd.length, "initrd");
        mem.write(addr, initrd, 0, initrd.length);
        return addr;
    }
}
