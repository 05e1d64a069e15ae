package dev.jvmm.libvirt;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Figures for libvirt users, printed and not asserted (scripts/bench.sh runs it): `virsh start` until the
 * domain runs, and `virsh destroy` until the emulator process is gone, for the same domain with jvmm and
 * with QEMU as its emulator, through one private libvirtd. Rounds alternate between the two.
 */
@Tag("benchmark")
class VirshStartDestroyBenchmarkTest {
    private static final int ROUNDS = 5;

    @TempDir
    Path dir;

    private record Round(double startMs, double destroyMs) {
    }

    private static Round round(Domains d, String name) throws Exception {
        long t0 = System.nanoTime();
        d.virsh.run("start", name).ok();
        double startMs = (System.nanoTime() - t0) / 1e6;
        // virsh start returns once libvirt has sent cont; the state says the domain really runs.
        assertEquals("running (booted)", d.state(name));
        long pid = d.pid(name);
        long t1 = System.nanoTime();
        d.virsh.run("destroy", name).ok();
        assertTrue(Domains.awaitGone(pid, 15), name + ": process " + pid + " outlived virsh destroy");
        double destroyMs = (System.nanoTime() - t1) / 1e6;
        return new Round(startMs, destroyMs);
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    @Test
    void startAndDestroyJvmmBesideQemu() throws Exception {
        String why = PrivateLibvirtd.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        String kvm = Vmm.kvmMissing();
        Assumptions.assumeTrue(kvm == null, kvm);
        Vmm jvmm = Vmm.jvmm();
        Vmm qemu = Vmm.qemu();
        Assumptions.assumeTrue(jvmm.missing() == null, jvmm.missing());
        Assumptions.assumeTrue(qemu.missing() == null, qemu.missing() + ": no reference to compare with");
        try (PrivateLibvirtd daemon = PrivateLibvirtd.start(dir.resolve("libvirtd"))) {
            Domains d = new Domains(daemon);
            Map<String, List<Round>> rounds = new LinkedHashMap<>();
            for (Vmm v : List.of(jvmm, qemu)) {
                String name = "bench-" + v.tag();
                d.define(v.domain(name, dir), dir);
                rounds.put(v.label(), new ArrayList<>());
                // The first start also fills libvirt's capability cache for the binary; it is not timed.
                round(d, name);
            }
            for (int i = 0; i < ROUNDS; i++) {
                for (Vmm v : List.of(jvmm, qemu)) {
                    rounds.get(v.label()).add(round(d, "bench-" + v.tag()));
                }
            }
            double js = median(rounds.get("jvmm").stream().map(Round::startMs).toList());
            double qs = median(rounds.get("QEMU").stream().map(Round::startMs).toList());
            double jd = median(rounds.get("jvmm").stream().map(Round::destroyMs).toList());
            double qd = median(rounds.get("QEMU").stream().map(Round::destroyMs).toList());
            System.out.printf("BENCH virsh start to running: median of %d: jvmm %.0f ms, QEMU %.0f ms; "
                    + "jvmm/QEMU %.2fx%n", ROUNDS, js, qs, js / qs);
            System.out.printf("BENCH virsh destroy to process gone: median of %d: jvmm %.0f ms, QEMU %.0f ms; "
                    + "jvmm/QEMU %.2fx%n", ROUNDS, jd, qd, jd / qd);
        }
    }
}
