package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class QDictOrderTest {
    @Test
    void reproducesQemusOrderAndLeavesOutAbsentMembers() {
        // BlockdevCacheInfo as QEMU 7.2 writes it: {"no-flush", "direct", "writeback"}
        assertEquals(List.of("no-flush", "direct", "writeback"),
                List.copyOf(QDictOrder.of("writeback", true, "direct", false, "no-flush", false).keySet()));
        // the event timestamp members
        assertEquals(List.of("seconds", "microseconds"),
                List.copyOf(QDictOrder.of("seconds", 1L, "microseconds", 2L).keySet()));
        assertEquals(List.of("device", "type"),
                List.copyOf(QDictOrder.of("device", "d0", "qdev", null, "type", "unknown").keySet()));
    }

    @Test
    void bucketIsTdbHashModulo512() {
        for (String k : List.of("", "a", "node-name", "\u00e9t\u00e9")) {
            int b = QDictOrder.bucket(k);
            assertEquals(true, b >= 0 && b < 512, k);
        }
    }
}
