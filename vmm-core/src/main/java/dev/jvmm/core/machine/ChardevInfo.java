package dev.jvmm.core.machine;

/** One chardev as query-chardev reports it (label, QEMU's filename string, frontend-open). */
public record ChardevInfo(String label, String filename, boolean frontendOpen) {
}
