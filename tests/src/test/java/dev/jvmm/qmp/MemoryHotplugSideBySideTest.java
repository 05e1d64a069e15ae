package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory hotplug under QEMU 7.2 and jvmm, one boot each at the same time: `-m 128M,slots=2,maxmem=1G` and a
 * 128 MiB memory-backend-ram with prealloc=on; the tiny guest (action=memhp refuse=1) plays the OS's ACPI
 * code at register level. The script plugs a DIMM with device_add (the guest sees the insert event through
 * GPE 3, reads address and size and answers _OST), tries a second DIMM on the same backend, asks with
 * device_del twice (the guest refuses the first request with _OST and ejects on the second) and queries the
 * memory devices, the size summary, the OSPM status and HMP's info memory-devices at each step. Serial output, replies, events with
 * their data and the exit status must be QEMU's. In jvmm the DIMM's memory is mapped only while it is
 * plugged: with prealloc=on its resident size rises by the backend's 128 MiB at device_add and falls back
 * once the guest has ejected it (QEMU keeps a backend's memory until object-del).
 */
class MemoryHotplugSideBySideTest {
    static final long STEP_TIMEOUT_MS = 60_000;
    static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    record Run(List<String> serial, List<String> events, List<Object> replies, int status, long[] rssKib) {
    }

    @Test
    void plugsRefusesAndEjectsAsQemu() throws Exception {
        Path kernel = GuestVm.assumeReady();
        BothHalves.Results<Run, Run> r = BothHalves.run(
                () -> run(GuestVm.QEMU, kernel, dir.resolve("q.sock")),
                () -> run(GuestVm.jvmm(), kernel, dir.resolve("j.sock")));
        Run q = r.qemu();
        Run j = r.jvmm();
        assertEquals(q.serial(), j.serial(), "serial output");
        assertEquals(q.replies(), j.replies(), "replies");
        assertEquals(q.events(), j.events(), "events");
        assertEquals(q.status(), j.status(), "exit status");
        long before = j.rssKib()[0];
        long plugged = j.rssKib()[1];
        long after = j.rssKib()[2];
        assertTrue(plugged - before >= 100 * 1024, "jvmm's RSS rises with the preallocated DIMM: " + before
                + " KiB before, " + plugged + " KiB plugged");
        assertTrue(plugged - after >= 100 * 1024, "jvmm's RSS falls once the DIMM is ejected: " + plugged
                + " KiB plugged, " + after + " KiB after");
    }

    private static Run run(String program, Path kernel, Path sock) throws Exception {
        List<String> cmd = GuestVm.command(program, kernel, "action=memhp refuse=1",
                List.of("-object", "memory-backend-ram,id=m1,size=128M,prealloc=on"));
        cmd.set(cmd.indexOf("-m") + 1, "128M,slots=2,maxmem=1G");
        List<Object> replies = new ArrayList<>();
        long[] rss = new long[3];
        try (GuestVm vm = GuestVm.start(cmd, sock)) {
            vm.cont();
            vm.require(vm.awaitSerial("memhp: waiting", STEP_TIMEOUT_MS), "the guest did not start");
            queries(vm, replies);
            rss[0] = rssKib(vm);
            replies.add(vm.reply("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\","
                    + "\"id\":\"d1\",\"memdev\":\"m1\"}}"));
            vm.require(vm.awaitSerial("memhp: idle 1", STEP_TIMEOUT_MS), "no insert seen");
            vm.require(vm.awaitEvent("ACPI_DEVICE_OST", 1, STEP_TIMEOUT_MS), "no _OST for the insert");
            rss[1] = rssKib(vm);
            // a backend a DIMM maps is in use
            replies.add(vm.reply("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"m1\"}}"));
            replies.add(vm.reply("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\","
                    + "\"id\":\"d2\",\"memdev\":\"m1\"}}"));
            queries(vm, replies);
            // the first request is refused by the guest, the second one ejected
            replies.add(vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"d1\"}}"));
            vm.require(vm.awaitSerial("memhp: idle 2", STEP_TIMEOUT_MS), "no remove request seen");
            vm.require(vm.awaitEvent("ACPI_DEVICE_OST", 2, STEP_TIMEOUT_MS), "no _OST for the refusal");
            queries(vm, replies);
            replies.add(vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"d1\"}}"));
            vm.require(vm.awaitSerial("memhp: idle 3", STEP_TIMEOUT_MS), "no second remove request");
            vm.require(vm.awaitEvent("DEVICE_DELETED", 1, STEP_TIMEOUT_MS), "no DEVICE_DELETED");
            vm.require(vm.awaitEvent("ACPI_DEVICE_OST", 4, STEP_TIMEOUT_MS), "no _OST after the eject");
            rss[2] = rssKib(vm);
            queries(vm, replies);
            // once the DIMM is gone its backend is free to delete
            replies.add(vm.reply("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"m1\"}}"));
            // a backend made at run time backs a new DIMM
            replies.add(vm.reply("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":"
                    + "\"memory-backend-ram\",\"id\":\"m2\",\"size\":134217728}}"));
            replies.add(vm.reply("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"pc-dimm\","
                    + "\"id\":\"d3\",\"memdev\":\"m2\"}}"));
            vm.require(vm.awaitSerial("memhp: idle 4", STEP_TIMEOUT_MS),
                    "no insert of the run-time backend's DIMM");
            vm.require(vm.awaitEvent("ACPI_DEVICE_OST", 5, STEP_TIMEOUT_MS), "no _OST for that insert");
            queries(vm, replies);
            vm.reply("{\"execute\":\"quit\"}");
            GuestVm.Result res = vm.finish(STEP_TIMEOUT_MS);
            List<String> events = new ArrayList<>();
            for (Map<String, Object> e : res.events()) {
                if (!"RESUME".equals(e.get("event"))) {
                    events.add(e.get("event") + " " + e.getOrDefault("data", ""));
                }
            }
            return new Run(res.serial(), events, replies, res.status(), rss);
        }
    }

    private static void queries(GuestVm vm, List<Object> replies) throws Exception {
        for (String q : List.of("query-memory-devices", "query-memory-size-summary", "query-acpi-ospm-status")) {
            replies.add(vm.reply("{\"execute\":\"" + q + "\"}"));
        }
        replies.add(vm.reply("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                + "\"info memory-devices\"}}"));
    }

    /** VmRSS of the VMM process, in KiB. */
    private static long rssKib(GuestVm vm) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + vm.pid() + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS for " + vm.pid());
    }
}
