package dev.jvmm.libvirt;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.jvmm.tests.QemuCpu;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virsh drives the domain of issue 14 through a private libvirtd, with jvmm as its emulator and, in the same
 * test, with QEMU as the reference: what virsh reports for jvmm must be what it reports for QEMU. QEMU's half
 * runs where the host allows; jvmm's half always runs (and its assertions stand alone).
 */
class VirshLifecycleTest {
    @TempDir
    static Path dir;
    static PrivateLibvirtd daemon;
    static Domains d;
    /** Domain name per emulator label, for the emulators that run here (QEMU first). */
    static final Map<String, Vmm> domains = new LinkedHashMap<>();
    static final Map<String, String> skipped = new LinkedHashMap<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        String why = PrivateLibvirtd.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        String kvm = Vmm.kvmMissing();
        Assumptions.assumeTrue(kvm == null, kvm + ": libvirt tests skipped");
        daemon = PrivateLibvirtd.start(dir.resolve("libvirtd"));
        d = new Domains(daemon);
        for (Vmm v : Vmm.both()) {
            if (v.missing() == null) {
                domains.put("lv-" + v.tag(), v);
            } else {
                skipped.put(v.label(), v.missing());
            }
        }
        Assumptions.assumeTrue(domains.values().stream().anyMatch(v -> v.label().equals("jvmm")),
                "jvmm: " + skipped.get("jvmm"));
        skipped.forEach((k, v) -> System.out.println("VirshLifecycleTest: " + k + "'s half skipped: " + v));
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    /** Defines each emulator's domain and runs {@code flow} on it, QEMU first; returns observations by label. */
    private static Map<String, List<String>> each(Flow flow) throws Exception {
        Map<String, List<String>> seen = new LinkedHashMap<>();
        for (Map.Entry<String, Vmm> e : domains.entrySet()) {
            String name = e.getKey();
            d.define(e.getValue().domain(name, dir), dir);
            try {
                seen.put(e.getValue().label(), flow.run(name, e.getValue()));
            } finally {
                d.stopQuietly(name);
            }
        }
        return seen;
    }

    /** jvmm's observations equal QEMU's, where QEMU ran. */
    private static void sameAsQemu(Map<String, List<String>> seen) {
        if (seen.containsKey("QEMU")) {
            assertEquals(seen.get("QEMU"), seen.get("jvmm"), "what virsh sees for jvmm and for QEMU");
        }
    }

    interface Flow {
        List<String> run(String name, Vmm vmm) throws Exception;
    }

    /** Lines of `virsh event` output that concern lifecycle and reboot, in order. */
    private static List<String> events(String out, String name) {
        List<String> l = new ArrayList<>();
        for (String line : out.split("\n")) {
            String prefix = "for domain '" + name + "': ";
            int i = line.indexOf(prefix);
            if (line.startsWith("event '") && i > 0) {
                l.add(line.substring(7, line.indexOf('\'', 7)) + ": " + line.substring(i + prefix.length()).strip());
            }
        }
        return l;
    }

    @Test
    void lifecycleConsoleMonitorStatsDestroyAndEvents() throws Exception {
        sameAsQemu(each((name, vmm) -> {
            List<String> seen = new ArrayList<>();
            Process watch = d.virsh.spawn("event", "--domain", name, "--all", "--loop", "--timeout", "120");
            var output = Virsh.drain(watch.getInputStream());
            try {
                Thread.sleep(300);
                try (PtyConsole c = d.startWithConsole(name)) {
                    seen.add(d.state(name));
                    assertEquals("running (unpaused)", d.state(name), vmm.label());
                    assertTrue(c.text().contains("jvmm-tiny: boot=pvh"), vmm.label() + ": " + c.text());
                    d.virsh.run("suspend", name).ok();
                    seen.add(d.state(name));
                    assertEquals("paused (user)", d.state(name), vmm.label());
                    assertTrue(d.hmp(name, "info status").startsWith("VM status: paused"), vmm.label());
                    d.virsh.run("resume", name).ok();
                    seen.add(d.state(name));
                    assertTrue(d.hmp(name, "info status").startsWith("VM status: running"), vmm.label());
                    monitorBalloonBlockAndVcpuThreads(name, vmm, seen);
                    assertFalse(c.text().contains("FAILED"), vmm.label() + ": " + c.text());
                    long before = hostSignalEvents();
                    d.destroy(name);
                    seen.add(d.state(name));
                    assertTrue(hostSignalEvents() > before, vmm.label() + ": libvirt saw no SHUTDOWN {guest: false, "
                            + "reason: host-signal} before the process ended");
                    assertTrue(Files.readString(daemon.domainLog(name)).contains("terminating on signal"),
                            vmm.label() + ": " + Domains.tail(daemon.domainLog(name)));
                }
            } finally {
                watch.destroy();
                watch.waitFor(5, TimeUnit.SECONDS);
            }
            String out = Virsh.get(output);
            List<String> ev = events(out, name);
            assertEquals("lifecycle: Stopped Destroyed", ev.isEmpty() ? "(none)" : ev.get(ev.size() - 1),
                    vmm.label() + ": virsh event: " + out);
            seen.addAll(ev);
            return seen;
        }));
    }

    @Test
    void rebootThenAcpiShutdown() throws Exception {
        sameAsQemu(each((name, vmm) -> {
            List<String> seen = new ArrayList<>();
            try (PtyConsole c = d.startWithConsole(name)) {
                // libvirt's reboot: system_powerdown, the guest powers off, SHUTDOWN, then system_reset and cont.
                d.virsh.run("reboot", name).ok();
                assertTrue(c.await(Domains.WAITING, 2, Domains.BOOT_SECONDS),
                        vmm.label() + ": no second boot after virsh reboot: " + c.text());
                assertTrue(c.text().contains("acpi: poweroff"), vmm.label() + ": " + c.text());
                seen.add(d.state(name));
                assertTrue(d.state(name).startsWith("running"), vmm.label() + ": " + d.state(name));
                d.virsh.run("shutdown", name).ok();
                d.awaitState(name, "shut off (shutdown)", 30);
                assertEquals(2, c.count("acpi: poweroff"), vmm.label() + ": " + c.text());
                seen.add(d.state(name));
            }
            return seen;
        }));
    }

    /**
     * virsh attach-device and detach-device of a virtio disk on a running domain whose guest acts as Linux's
     * acpiphp (the tiny guest's action=pcihp): libvirt adds the image with blockdev-add and the disk with
     * device_add, the guest finds it; detach asks the guest, which ejects, and libvirt sees DEVICE_DELETED
     * and drops the disk. The same disk attaches again afterwards.
     */
    @Test
    void attachAndDetachADiskThroughAcpiHotplug() throws Exception {
        sameAsQemu(each((name, vmm) -> {
            List<String> seen = new ArrayList<>();
            d.stopQuietly(name);
            d.define(vmm.domain(name, dir).withCmdline("action=pcihp events=9"), dir);
            Path image = dir.resolve(name + "-hot.raw");
            Files.write(image, new byte[1 << 20]);
            Path xml = dir.resolve(name + "-hot.xml");
            Files.writeString(xml, "<disk type='file' device='disk'>\n  <driver name='qemu' type='raw'/>\n"
                    + "  <source file='" + image + "'/>\n  <target dev='vdc' bus='virtio'/>\n</disk>\n");
            try (PtyConsole c = d.startWithConsole(name, "pcihp: ready")) {
                for (int round = 1; round <= 2; round++) {
                    seen.add(d.virsh.run("attach-device", name, xml.toString(), "--live").ok().strip());
                    assertTrue(c.await(" up 0x1af4:", round, 30), vmm.label() + ": the guest saw no new function: "
                            + c.text());
                    String list = d.virsh.run("domblklist", name).ok();
                    assertTrue(list.contains("vdc"), vmm.label() + ": " + list);
                    seen.add(list.replace(dir.toString(), "DIR").replace(name, "NAME").strip());
                    seen.add(d.virsh.run("detach-device", name, xml.toString(), "--live").ok().strip());
                    assertTrue(c.await(", ejected", round, 30), vmm.label() + ": " + c.text());
                    list = d.virsh.run("domblklist", name).ok();
                    assertFalse(list.contains("vdc"), vmm.label() + ": libvirt still lists the disk: " + list);
                }
                seen.add(d.qmp(name, "{\"execute\":\"query-block\"}").contains(image.toString())
                        ? "image still open" : "image closed");
                assertFalse(c.text().contains("FAILED"), vmm.label() + ": " + c.text());
                d.destroy(name);
            }
            return seen;
        }));
    }

    /** The host thread ids in a query-cpus-fast reply (each element's "thread-id", not the one in "props"). */
    static List<Long> hostThreadIds(String reply) throws IOException {
        List<Long> ids = new ArrayList<>();
        try (JsonParser p = new JsonFactory().createParser(reply)) {
            int depth = 0;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    depth++;
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                } else if (t == JsonToken.FIELD_NAME && depth == 3 && p.currentName().equals("thread-id")) {
                    p.nextToken();
                    ids.add(p.getLongValue());
                }
            }
        }
        return ids;
    }

    /** key value lines (dommemstat, domblkstat, domstats) as the set of keys. */
    private static Set<String> keys(String out) {
        return out.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("Domain:"))
                .map(l -> l.split("[ =]")[0]).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String value(String out, String key) {
        return out.lines().map(String::strip).filter(l -> l.startsWith(key + "=") || l.startsWith(key + " "))
                .map(l -> l.substring(key.length() + 1).strip()).findFirst().orElse("(no " + key + ")");
    }

    /**
     * On a running domain: QMP and HMP through qemu-monitor-command, vCPU thread ids against /proc, balloon
     * (dommemstat, setmem), disks (domblklist, domblkstat, domblkinfo, domstats --block).
     */
    private static void monitorBalloonBlockAndVcpuThreads(String name, Vmm vmm, List<String> seen)
            throws IOException {
        String status = d.qmp(name, "{\"execute\":\"query-status\"}");
        assertTrue(status.contains("\"status\":\"running\""), vmm.label() + ": " + status);
        seen.add(d.hmp(name, "info status"));

        long pid = d.pid(name);
        Set<Long> tasks = new TreeSet<>();
        try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            s.forEach(p -> tasks.add(Long.parseLong(p.getFileName().toString())));
        }
        String cpus = d.qmp(name, "{\"execute\":\"query-cpus-fast\"}");
        List<Long> tids = hostThreadIds(cpus);
        assertEquals(2, tids.size(), vmm.label() + ": " + cpus);
        for (long t : tids) {
            assertTrue(t != pid && tasks.contains(t), vmm.label() + ": vCPU thread " + t
                    + " is not a thread of " + pid + " " + tasks);
        }
        assertEquals(2, new TreeSet<>(tids).size(), vmm.label() + ": " + cpus);
        seen.add("vcpus " + d.virsh.run("vcpucount", name, "--live").ok().strip());

        String mem = d.virsh.run("dommemstat", name).ok();
        assertEquals("262144", value(mem, "actual"), vmm.label() + ": " + mem);
        seen.add("dommemstat " + keys(mem));
        d.virsh.run("setmem", name, "200M", "--live").ok();
        seen.add("dominfo " + d.virsh.run("dominfo", name).ok().lines()
                .filter(l -> l.startsWith("Max memory") || l.startsWith("State")).toList());

        String blk = d.virsh.run("domblklist", name).ok();
        seen.add(blk.replace(dir.toString(), "DIR").replace(name, "NAME").strip());
        String stat = d.virsh.run("domblkstat", name, "vda").ok();
        seen.add("domblkstat " + keys(stat));
        String info = d.virsh.run("domblkinfo", name, "vda").ok();
        assertEquals("16777216", value(info, "Capacity:"), vmm.label() + ": " + info);
        seen.add("domblkinfo capacity " + value(info, "Capacity:"));
        String stats = d.virsh.run("domstats", "--block", name).ok();
        assertEquals("3", value(stats, "block.count"), vmm.label() + ": " + stats);
        seen.add("domstats " + keys(stats));
        seen.add("domstats capacity " + value(stats, "block.0.capacity") + " "
                + value(stats, "block.1.capacity"));
    }

    private static long hostSignalEvents() throws IOException {
        try (var lines = Files.lines(daemon.log(), StandardCharsets.ISO_8859_1)) {
            return lines.filter(l -> l.contains("QEMU_MONITOR_RECV_EVENT") && l.contains("SHUTDOWN")
                    && l.contains("host-signal")).count();
        }
    }

    @Test
    void libvirtdRestartReconnectsWithAnUnchangedView() throws Exception {
        List<PtyConsole> consoles = new ArrayList<>();
        Map<String, List<String>> before = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Vmm> e : domains.entrySet()) {
                d.define(e.getValue().domain(e.getKey(), dir), dir);
                consoles.add(d.startWithConsole(e.getKey()));
                before.put(e.getKey(), view(e.getKey()));
            }
            daemon.restart();
            for (String name : domains.keySet()) {
                assertEquals(before.get(name), view(name), name + ": virsh's view after libvirtd restarted");
                assertTrue(d.hmp(name, "info status").startsWith("VM status: running"), name);
                d.virsh.run("suspend", name).ok();
                d.virsh.run("resume", name).ok();
                d.destroy(name);
            }
        } finally {
            for (PtyConsole c : consoles) {
                c.close();
            }
            for (String name : domains.keySet()) {
                d.stopQuietly(name);
            }
        }
    }

    /** What libvirt knows of a running domain: state, its live XML, disks, vCPUs, console pty, pid. */
    private static List<String> view(String name) {
        return List.of(d.state(name), d.virsh.run("dumpxml", name).ok(), d.virsh.run("domblklist", name).ok(),
                d.virsh.run("vcpucount", name, "--live").ok(), d.virsh.run("ttyconsole", name).ok(),
                Long.toString(d.pid(name)));
    }

    @Test
    void cpuModesAndVcpuCounts() throws Exception {
        for (DomainXml.CpuMode mode : List.of(DomainXml.CpuMode.HOST_PASSTHROUGH, DomainXml.CpuMode.HOST_MODEL)) {
            int count = mode == DomainXml.CpuMode.HOST_PASSTHROUGH ? 4 : 1;
            for (Map.Entry<String, Vmm> e : domains.entrySet()) {
                Vmm vmm = e.getValue();
                if (vmm.label().equals("QEMU") && !QemuCpu.spec().equals("host")) {
                    System.out.println("VirshLifecycleTest: QEMU's half of " + mode + " skipped: QEMU 7.2 cannot "
                            + "start -cpu host on this host (QemuCpu chose " + QemuCpu.spec() + ")");
                    continue;
                }
                String name = e.getKey() + "-cpu";
                d.define(vmm.domain(name, dir).withCpu(mode, count), dir);
                try {
                    d.virsh.run("start", "--paused", name).ok();
                    assertEquals("paused (user)", d.state(name), vmm.label() + " " + mode);
                    String cpus = d.qmp(name, "{\"execute\":\"query-cpus-fast\"}");
                    assertEquals(count, hostThreadIds(cpus).size(), vmm.label() + " " + mode + ": " + cpus);
                    assertEquals(Integer.toString(count), d.virsh.run("vcpucount", name, "--live").ok().strip());
                    d.virsh.run("resume", name).ok();
                    d.destroy(name);
                } finally {
                    d.stopQuietly(name);
                }
            }
        }
    }
}
