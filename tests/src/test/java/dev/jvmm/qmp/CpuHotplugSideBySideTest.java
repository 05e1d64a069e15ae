package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU hotplug under QEMU 7.2 and jvmm, one boot each with the same guest and QMP script: the tiny guest
 * (action=cpuhp refuse=1 eject=1, -smp 2,maxcpus=4) plays the OS's ACPI code over the modern CPU hotplug block
 * (GPE bit 2, insert and remove events, the APIC id, INIT-SIPI-SIPI, _OST, eject). The guest first ejects the
 * second -smp CPU unasked; the script then plugs CPU c1 into slot 2 with device_add, lets the guest refuse the
 * first device_del and eject on the second, then plugs an anonymous CPU in slot 3;
 * the queries (query-cpus-fast without host thread ids, query-hotpluggable-cpus, query-acpi-ospm-status),
 * the events with their data (ACPI_DEVICE_OST, DEVICE_DELETED for the local APIC then the CPU), the guest's
 * output and the exit status (after quit) must be the same. QEMU 7.2 cannot plug a CPU again into a slot it ejected one
 * from on a kernel that refuses KVM_SET_CPUID2 after KVM_RUN (it exits), so the script does not do that;
 * jvmm reuses the parked vCPU there, which a second, jvmm-only boot checks.
 */
class CpuHotplugSideBySideTest {
    private static final long STEP_TIMEOUT_MS = 60_000;
    private static final String APPEND = "action=cpuhp refuse=1 eject=1";

    @TempDir
    Path dir;

    /** What a run left: the replies and waits in order, the events, the guest's output and the exit status. */
    record Run(List<Object> steps, List<String> events, List<String> serial, int status) {
    }

    @Test
    void hotplugMatchesQemu() throws Exception {
        Path kernel = GuestVm.assumeReady();
        BothHalves.Results<Run, Run> both = BothHalves.run(() -> run(GuestVm.QEMU, kernel, dir.resolve("q.sock")),
                () -> run(GuestVm.jvmm(), kernel, dir.resolve("j.sock")));
        Run q = both.qemu();
        Run j = both.jvmm();
        assertEquals(q.serial(), j.serial(), "guest output");
        assertEquals(q.steps(), j.steps(), "replies");
        assertEquals(q.events(), j.events(), "events");
        assertEquals(q.status(), j.status(), "exit status");
    }

    private static Run run(String program, Path kernel, Path sock) throws Exception {
        List<Object> steps = new ArrayList<>();
        List<String> extra = List.of("-smp", "2,maxcpus=4");
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, APPEND, extra), sock)) {
            vm.cont();
            vm.require(vm.awaitSerial("cpuhp: ready", STEP_TIMEOUT_MS), "the guest did not get ready");
            steps.add("unasked eject " + vm.awaitEvent("DEVICE_DELETED", 2, STEP_TIMEOUT_MS));
            Object slots = vm.reply("{\"execute\":\"query-hotpluggable-cpus\"}");
            steps.add(slots);
            steps.add(withoutHostThreadIds(vm.reply("{\"execute\":\"query-cpus-fast\"}")));
            String type = cpuType(slots);
            steps.add(vm.reply(deviceAdd(type, 2, "\"id\":\"c1\",")));
            steps.add("inserted " + vm.awaitEvent("ACPI_DEVICE_OST", 1, STEP_TIMEOUT_MS));
            queries(vm, steps);
            steps.add(vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"c1\"}}"));
            steps.add("refused " + vm.awaitEvent("ACPI_DEVICE_OST", 2, STEP_TIMEOUT_MS));
            steps.add(vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"c1\"}}"));
            steps.add("deleted " + vm.awaitEvent("DEVICE_DELETED", 4, STEP_TIMEOUT_MS));
            steps.add("ejected " + vm.awaitEvent("ACPI_DEVICE_OST", 4, STEP_TIMEOUT_MS));
            queries(vm, steps);
            steps.add(vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"c1\"}}"));
            steps.add(vm.reply(deviceAdd(type, 3, "")));
            steps.add("inserted " + vm.awaitEvent("ACPI_DEVICE_OST", 5, STEP_TIMEOUT_MS));
            queries(vm, steps);
            vm.require(vm.awaitSerial("cpuhp: done", STEP_TIMEOUT_MS), "the guest did not finish");
            steps.add(vm.reply("{\"execute\":\"quit\"}"));
            GuestVm.Result res = vm.finish(STEP_TIMEOUT_MS);
            List<String> events = new ArrayList<>();
            for (Map<String, Object> e : res.events()) {
                events.add(e.get("event") + " " + e.getOrDefault("data", ""));
            }
            return new Run(steps, events, res.serial(), res.status());
        }
    }

    @Test
    void replugReusesTheParkedVcpu() throws Exception {
        Path kernel = GuestVm.assumeReady();
        List<String> cmd = GuestVm.command(GuestVm.jvmm(), kernel, "action=cpuhp events=3",
                List.of("-smp", "1,maxcpus=2"));
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve("j.sock"))) {
            vm.cont();
            vm.require(vm.awaitSerial("cpuhp: ready", STEP_TIMEOUT_MS), "the guest did not get ready");
            String type = cpuType(vm.reply("{\"execute\":\"query-hotpluggable-cpus\"}"));
            vm.reply(deviceAdd(type, 1, "\"id\":\"c1\","));
            vm.require(vm.awaitEvent("ACPI_DEVICE_OST", 1, STEP_TIMEOUT_MS), "no insert _OST");
            vm.reply("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"c1\"}}");
            vm.require(vm.awaitEvent("DEVICE_DELETED", 2, STEP_TIMEOUT_MS), "no DEVICE_DELETED");
            assertEquals(Map.of("return", Map.of()), vm.reply(deviceAdd(type, 1, "\"id\":\"c1\",")));
            vm.require(vm.awaitSerial("cpuhp: done", STEP_TIMEOUT_MS), "the guest did not finish");
            Object cpus = withoutHostThreadIds(vm.reply("{\"execute\":\"query-cpus-fast\"}"));
            vm.reply("{\"execute\":\"quit\"}");
            GuestVm.Result r = vm.finish(STEP_TIMEOUT_MS);
            assertEquals(List.of("cpuhp: cpu 1 apic 1 online, aps started 1", "cpuhp: cpu 1 ejected, flags 0x00000000",
                    "cpuhp: cpu 1 apic 1 online, aps started 2"),
                    r.serial().stream().filter(l -> l.startsWith("cpuhp: cpu ")).toList());
            assertTrue(cpus.toString().contains("qom-path=/machine/peripheral/c1, cpu-index=1"), cpus.toString());
        }
    }

    private static String deviceAdd(String type, int core, String id) {
        return "{\"execute\":\"device_add\",\"arguments\":{" + id + "\"driver\":\"" + type
                + "\",\"socket-id\":0,\"core-id\":" + core + ",\"thread-id\":0}}";
    }

    private static void queries(GuestVm vm, List<Object> steps) throws Exception {
        steps.add(withoutHostThreadIds(vm.reply("{\"execute\":\"query-cpus-fast\"}")));
        steps.add(vm.reply("{\"execute\":\"query-hotpluggable-cpus\"}"));
        steps.add(vm.reply("{\"execute\":\"query-acpi-ospm-status\"}"));
    }

    /** The -cpu type, which query-hotpluggable-cpus names (QemuCpu picks the model per host). */
    private static String cpuType(Object reply) {
        if (reply instanceof Map<?, ?> m && m.get("return") instanceof List<?> l && !l.isEmpty()
                && l.get(0) instanceof Map<?, ?> slot && slot.get("type") instanceof String t) {
            return t;
        }
        throw new AssertionError("no CPU type in " + reply);
    }

    /** query-cpus-fast's reply with each CPU's host thread id replaced by whether it is one (props' stays). */
    private static Object withoutHostThreadIds(Object reply) {
        if (reply instanceof Map<?, ?> m && m.get("return") instanceof List<?> l) {
            List<Object> cpus = new ArrayList<>();
            for (Object o : l) {
                Map<Object, Object> c = new LinkedHashMap<>((Map<?, ?>) o);
                Object tid = c.get("thread-id");
                c.put("thread-id", tid instanceof Number n && n.longValue() > 0 ? "a host thread" : tid);
                cpus.add(c);
            }
            return Map.of("return", cpus);
        }
        return reply;
    }
}
