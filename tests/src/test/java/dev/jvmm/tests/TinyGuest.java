package dev.jvmm.tests;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines and expected serial output for the tiny guest kernels in tests/guest. */
final class TinyGuest {
    /** The three -kernel formats, by the file name the guest Makefile gives them. */
    enum Format {
        PVH("tiny.pvh", "pvh"), MULTIBOOT("tiny.mb", "multiboot"), BZIMAGE("tiny.bzImage", "linux");

        final String file;
        final String bootName;

        Format(String file, String bootName) {
            this.file = file;
            this.bootName = bootName;
        }
    }

    static final int EXIT_PASSED = 33;
    static final int EXIT_FAILED = 35;

    private TinyGuest() {
    }

    /**
     * The arguments shared by jvmm and QEMU: no default devices, COM1 on stdout, isa-debug-exit at 0xf4,
     * and -no-reboot so a guest reset ends the run.
     */
    static List<String> args(Path kernel, String append, String... extra) {
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-nodefaults", "-display", "none",
                "-serial", "stdio", "-m", "128", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
                "-kernel", kernel.toString()));
        if (append != null) {
            a.add("-append");
            a.add(append);
        }
        a.addAll(List.of(extra));
        return a;
    }

    static String[] argv(Path kernel, String append, String... extra) {
        return args(kernel, append, extra).toArray(new String[0]);
    }

    /** The whole serial output of a passing run without an action. */
    static String passingOutput(Format f, String cmdline, int memMiB) {
        return header(f, cmdline, memMiB) + "rtc: ok\ntimer: ok\nunassigned: ok\njvmm-tiny: all checks passed\n";
    }

    static String header(Format f, String cmdline, int memMiB) {
        return "jvmm-tiny: boot=" + f.bootName + "\ncmdline: " + cmdline + "\nmemory: " + memMiB + " MiB\n";
    }
}
