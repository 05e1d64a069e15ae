package dev.jvmm.qmp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The member order of QEMU's JSON output. QEMU builds each reply object as a QDict, a 512-bucket hash table
 * keyed by tdb_hash, and writes it bucket by bucket, the newest entry of a bucket first. So the order on the
 * wire is fixed by the key names and, within one bucket, by the QAPI declaration order. Giving members here
 * in declaration order reproduces QEMU's order for any combination of present optional members.
 */
final class QDictOrder {
    /** QDICT_BUCKET_MAX. */
    static final int BUCKETS = 512;

    private QDictOrder() {
    }

    /** tdb_hash(key) % 512, over the key's UTF-8 bytes with 32-bit unsigned arithmetic. */
    static int bucket(String key) {
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        int value = 0x238F13AF * b.length;
        for (int i = 0; i < b.length; i++) {
            value += (b[i] & 0xff) << (i * 5 % 24);
        }
        int h = 1103515243 * value + 12345;
        return Integer.remainderUnsigned(h, BUCKETS);
    }

    /**
     * An object from key, value pairs given in QAPI declaration order; null values are left out (absent
     * optional members).
     */
    static Map<String, Object> of(Object... kv) {
        List<Object[]> entries = new ArrayList<>();
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] != null) {
                entries.add(new Object[] {kv[i], kv[i + 1], entries.size()});
            }
        }
        entries.sort(Comparator.<Object[]>comparingInt(e -> bucket((String) e[0]))
                .thenComparing(e -> -(Integer) e[2]));
        Map<String, Object> m = new LinkedHashMap<>();
        for (Object[] e : entries) {
            m.put((String) e[0], e[1]);
        }
        return m;
    }
}
