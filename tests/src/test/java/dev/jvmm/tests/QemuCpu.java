package dev.jvmm.tests;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The -cpu spelling both VMMs get in side-by-side tests, found once per test JVM by asking this host's QEMU
 * which of {@link #CANDIDATES} it can start a VM with. QEMU 7.2's {@code -cpu host} aborts on some hosts
 * (on AMD under PVM: "failed to set MSR 0x10a", IA32_ARCH_CAPABILITIES), so no test names a model itself.
 */
public final class QemuCpu {
    /** Tried in order: the host model, the host model without the MSR some hosts refuse, QEMU's default. */
    static final List<String> CANDIDATES = List.of("host", "host,-arch-capabilities", "qemu64");

    private static final long PROBE_SECONDS = 20;

    /** Computed on first use: the probe starts QEMU up to three times. */
    private static final class Probed {
        static final String SPEC = probe();
    }

    private QemuCpu() {
    }

    /** The -cpu value for this host ("host", "host,-arch-capabilities" or "qemu64"). */
    public static String spec() {
        return Probed.SPEC;
    }

    /** The -cpu value with edits appended ({@code withEdits("-x2apic")} gives "host,-x2apic" on most hosts). */
    public static String withEdits(String edits) {
        return edits.isEmpty() ? spec() : spec() + "," + edits;
    }

    /** "-cpu" and {@link #spec()}, for a command line. */
    public static List<String> args() {
        return List.of("-cpu", spec());
    }

    /**
     * The spelling of model that this host's QEMU runs: the model itself, or the model without
     * arch-capabilities where QEMU aborts on IA32_ARCH_CAPABILITIES (host and max on AMD under PVM).
     */
    public static String spellingFor(String model) {
        Path qemu = Env.qemu();
        if (qemu == null || tryStart(qemu, model) == null) {
            return model;
        }
        return model + ",-arch-capabilities";
    }

    private static String probe() {
        Path qemu = Env.qemu();
        if (qemu == null) {
            return CANDIDATES.get(0);
        }
        StringBuilder why = new StringBuilder();
        for (String c : CANDIDATES) {
            String failure = tryStart(qemu, c);
            if (failure == null) {
                return c;
            }
            why.append("\n  -cpu ").append(c).append(": ").append(failure);
        }
        throw new IllegalStateException("QEMU starts a KVM guest with none of " + CANDIDATES + ":" + why);
    }

    /** Null when QEMU created a vCPU with this -cpu and quit cleanly over QMP; else why not. */
    static String tryStart(Path qemu, String cpu) {
        List<String> cmd = new ArrayList<>(List.of(qemu.toString(), "-enable-kvm", "-cpu", cpu, "-nodefaults",
                "-display", "none", "-S", "-qmp", "stdio"));
        try {
            Path err = Files.createTempFile("qemu-cpu-probe", ".txt");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(err.toFile())
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                try (OutputStream in = p.getOutputStream()) {
                    in.write("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n"
                            .getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // QEMU died before reading its input; its status says why.
                }
                if (!p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    return "no exit within " + PROBE_SECONDS + " s";
                }
                if (p.exitValue() == 0) {
                    return null;
                }
                String tail = Files.readString(err).strip();
                return "exit " + p.exitValue() + ": " + tail.substring(Math.max(0, tail.length() - 300));
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
