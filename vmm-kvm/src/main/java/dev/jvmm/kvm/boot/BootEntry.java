package dev.jvmm.kvm.boot;

/**
 * Where and how a loaded kernel starts: 32-bit flat protected mode, paging off, at rip with the given
 * EAX/EBX/ESI (bzImage: ESI = boot_params; PVH: EBX = start_info; multiboot: EAX = magic, EBX = mbi).
 */
public record BootEntry(Format format, long rip, int eax, int ebx, int esi) {
    /** The kernel image formats the loader understands. */
    public enum Format { BZIMAGE, PVH, MULTIBOOT }
}
