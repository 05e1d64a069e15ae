package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** qom-get output is written in QEMU's QDict order, nested objects included. */
class QmpQomTest {
    /** guest-stats as QEMU 7.2 wrote it on the wire (qom-get of a virtio-balloon-pci). */
    private static final String QEMU_GUEST_STATS = "{\"stats\": {\"stat-htlb-pgalloc\": 1, \"stat-swap-out\": 1,"
            + " \"stat-available-memory\": 1, \"stat-htlb-pgfail\": 1, \"stat-free-memory\": 1,"
            + " \"stat-minor-faults\": 1, \"stat-major-faults\": 1, \"stat-total-memory\": 1, \"stat-swap-in\": 1,"
            + " \"stat-disk-caches\": 1}, \"last-update\": 0}";

    @Test
    void guestStatsInQemuOrder() {
        Map<String, Object> stats = new LinkedHashMap<>();
        for (String n : new String[] {"stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
            "stat-free-memory", "stat-total-memory", "stat-available-memory", "stat-disk-caches",
            "stat-htlb-pgalloc", "stat-htlb-pgfail"}) {
            stats.put(n, 1L);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("last-update", 0L);
        m.put("stats", stats);
        assertEquals(QEMU_GUEST_STATS,
                Json.toString(QmpQom.qdictOrder(m)));
    }
}
