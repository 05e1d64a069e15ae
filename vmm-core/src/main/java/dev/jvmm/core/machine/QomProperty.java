package dev.jvmm.core.machine;

/** One qom-list entry (QEMU's ObjectPropertyInfo without the optional members). */
public record QomProperty(String name, String type) {
}
