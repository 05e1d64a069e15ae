package dev.jvmm.core.block;

import java.util.Locale;

/** QEMU's BlockDeviceIoStatus: query-block's "io-status", set when an error stopped the VM, reset on cont. */
public enum IoStatus {
    OK, FAILED, NOSPACE;

    public String qapiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
