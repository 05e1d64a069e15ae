package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-balloon end to end: the tiny guest's balloon driver (action=balloon) under QEMU 7.2 and under jvmm,
 * driven by the same QMP conversation: balloon (refused and accepted), query-balloon, BALLOON_CHANGE as the
 * guest inflates and deflates, HMP info balloon, qom-set of guest-stats-polling-interval and qom-get of
 * guest-stats with the guest's values, the QOM errors, HMP balloon errors and query-pci (after QEMU's firmware
 * has run). Serial output, every reply and every event must be
 * the same (last-update is compared as "set" or 0, being a wall-clock time).
 */
class BalloonSideBySideTest {
    private static final long RAM = 128L << 20;
    private static final String BAL = "/machine/peripheral/bal0";

    @TempDir
    Path dir;

    record Run(List<String> serial, List<Object> replies, List<Map<String, Object>> events, int status) {
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"", ",deflate-on-oom=on"})
    void sameConversationAsQemu(String props) throws Exception {
        Path kernel = GuestVm.assumeReady();
        Run q = run(GuestVm.QEMU, kernel, props, "q");
        assertTrue(q.serial().contains("balloon: inflated to 16384 pages"), "QEMU: " + q.serial());
        assertTrue(q.serial().contains("balloon: deflated to 0 pages, returned pages read as zero"), "QEMU: " + q.serial());
        assertEquals(props.isEmpty() ? "balloon: features STATS_VQ PAGE_POISON INDIRECT_DESC EVENT_IDX VERSION_1"
                : "balloon: features STATS_VQ DEFLATE_ON_OOM PAGE_POISON INDIRECT_DESC EVENT_IDX VERSION_1",
                q.serial().get(4), "QEMU's offered features");
        assertEquals(List.of("RESUME", "BALLOON_CHANGE", "BALLOON_CHANGE", "SHUTDOWN"),
                q.events().stream().map(e -> e.get("event")).toList(), "QEMU's events");
        assertEquals(Map.of("error", Map.of("class", "GenericError", "desc", "Parameter 'target' expects a size")),
                q.replies().get(1), "QEMU's reply to balloon 0");
        assertTrue(q.replies().get(13).toString().contains("stat-free-memory=89128960"), "the guest's stats: "
                + q.replies().get(13));
        assertEquals(35, q.replies().size());
        Run j = run(GuestVm.jvmm(), kernel, props, "j");
        assertEquals(q.serial(), j.serial(), "serial output");
        for (int i = 0; i < Math.max(q.replies().size(), j.replies().size()); i++) {
            Object a = i < q.replies().size() ? q.replies().get(i) : null;
            Object b = i < j.replies().size() ? j.replies().get(i) : null;
            assertNull(GuestVm.firstDifference(a, b, "reply " + i), () -> "QEMU " + q.replies() + "\njvmm " + j.replies());
        }
        assertEquals(q.events(), j.events(), "events");
        assertEquals(q.status(), j.status(), "exit status");
    }

    /** Without a balloon device: QEMU's DeviceNotActive for balloon and query-balloon, an HMP error line. */
    @Test
    void noBalloonDevice() throws Exception {
        Path kernel = GuestVm.assumeReady();
        List<String> cmds = List.of(
                "{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}",
                "{\"execute\":\"query-balloon\"}",
                "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info balloon\"}}",
                "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" + BAL + "\",\"property\":\"guest-stats\"}}");
        List<Object> ref = null;
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            List<Object> replies = new ArrayList<>();
            try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, "action=idle", List.of()),
                    dir.resolve("n.sock"))) {
                for (String c : cmds) {
                    replies.add(vm.command(c));
                }
            }
            if (ref == null) {
                ref = replies;
                assertEquals(Map.of("error", Map.of("class", "DeviceNotActive",
                        "desc", "No balloon device has been activated")), replies.get(0));
            } else {
                assertEquals(ref, replies);
            }
        }
    }

    private Run run(String program, Path kernel, String props, String tag) throws Exception {
        List<String> cmd = GuestVm.command(program, kernel, "action=balloon",
                List.of("-device", "virtio-balloon-pci,id=bal0,disable-legacy=on" + props));
        List<Object> replies = new ArrayList<>();
        try (GuestVm vm = GuestVm.start(cmd, dir.resolve(tag + ".sock"))) {
            vm.cont();
            assertTrue(vm.awaitSerial("balloon: ready", 60_000), program + ": guest not ready: " + vm.serial()
                    + vm.stderr());
            replies.add(vm.command("{\"execute\":\"query-balloon\"}"));
            replies.add(vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}"));
            replies.add(vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":-4096}}"));
            replies.add(vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":\"x\"}}"));
            replies.add(vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":" + RAM / 2 + "}}"));
            assertTrue(vm.awaitEvent("BALLOON_CHANGE", 1, 60_000), program + ": no BALLOON_CHANGE; " + vm.serial());
            assertTrue(vm.awaitSerial("inflated to", 30_000), program + ": " + vm.serial());
            replies.add(vm.command("{\"execute\":\"query-balloon\"}"));
            replies.add(vm.command("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                    + "\"info balloon\"}}"));
            replies.add(stats(vm.command(get(BAL, "guest-stats"))));
            replies.add(vm.command(set(BAL, "guest-stats-polling-interval", "\"x\"")));
            replies.add(vm.command(set(BAL, "guest-stats-polling-interval", "-1")));
            replies.add(vm.command(set(BAL, "guest-stats-polling-interval", "4294967296")));
            replies.add(vm.command(set(BAL, "guest-stats-polling-interval", "1")));
            assertTrue(vm.awaitSerial("stats requested, refilled", 30_000), program + ": " + vm.serial());
            replies.add(vm.command(get(BAL + "/virtio-backend", "guest-stats-polling-interval")));
            replies.add(stats(vm.command(get(BAL, "guest-stats"))));
            replies.add(stats(vm.command(get("bal0", "guest-stats"))));
            replies.add(vm.command(set(BAL, "guest-stats", "1")));
            replies.add(vm.command(set(BAL, "deflate-on-oom", "true")));
            replies.add(vm.command(set(BAL, "addr", "3")));
            replies.add(vm.command(get(BAL, "nope")));
            replies.add(vm.command(get(BAL, "type")));
            replies.add(vm.command(get(BAL + "/virtio-backend", "deflate-on-oom")));
            replies.add(vm.command("{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"" + BAL
                    + "/virtio-backend\"}}"));
            replies.add(vm.command("{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/nothere\"}}"));
            replies.add(vm.command(set(BAL, "guest-stats-polling-interval", "0")));
            replies.add(vm.command(get(BAL, "guest-stats-polling-interval")));
            Thread.sleep(1100); // the second BALLOON_CHANGE then goes out at once, not held by the rate limit
            replies.add(vm.command("{\"execute\":\"balloon\",\"arguments\":{\"value\":" + RAM * 2 + "}}"));
            assertTrue(vm.awaitEvent("BALLOON_CHANGE", 2, 60_000), program + ": no second BALLOON_CHANGE");
            assertTrue(vm.awaitSerial("deflated to 0", 30_000), program + ": " + vm.serial());
            replies.add(vm.command("{\"execute\":\"query-balloon\"}"));
            replies.add(vm.command("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                    + "\"balloon 0\"}}"));
            for (String hmp : List.of("balloon", "balloon 64M", "balloon -5", "balloon abc",
                    "balloon 99999999999999999999")) {
                replies.add(vm.command("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\""
                        + hmp + "\"}}"));
            }
            replies.add(vm.command("{\"execute\":\"query-pci\"}"));
            replies.add(vm.command("{\"execute\":\"quit\"}"));
            GuestVm.Result r = vm.finish(20_000);
            return new Run(r.serial(), replies, r.events(), r.status());
        }
    }

    private static String get(String path, String prop) {
        return "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" + path + "\",\"property\":\"" + prop + "\"}}";
    }

    private static String set(String path, String prop, String value) {
        return "{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" + path + "\",\"property\":\"" + prop
                + "\",\"value\":" + value + "}}";
    }

    /** guest-stats with last-update as "set" (a recent wall-clock time) or 0. */
    @SuppressWarnings("unchecked")
    private static Object stats(Object reply) {
        if (!(reply instanceof Map<?, ?> m) || !(m.get("return") instanceof Map<?, ?> ret)) {
            return reply;
        }
        Map<String, Object> r = new LinkedHashMap<>((Map<String, Object>) ret);
        Object lu = r.get("last-update");
        long now = System.currentTimeMillis() / 1000;
        if (lu instanceof Number n && n.longValue() != 0) {
            r.put("last-update", Math.abs(now - n.longValue()) < 600 ? "set" : "bad: " + n);
        }
        return Map.of("return", r);
    }
}
