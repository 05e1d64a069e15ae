package dev.jvmm.core.machine;

/** A QEMU-style version: the triple clients check and a free-form package string. */
public record QemuVersion(int major, int minor, int micro, String pkg) {
    /** jvmm speaks QEMU 7.2's protocol; the package names jvmm. */
    public static final QemuVersion JVMM = new QemuVersion(7, 2, 0, "jvmm 0.1.0");
}
