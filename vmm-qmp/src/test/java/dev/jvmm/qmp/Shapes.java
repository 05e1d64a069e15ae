package dev.jvmm.qmp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The shape of a JSON value: key sets and value types, recursively; lists by their first element. */
final class Shapes {
    private Shapes() {
    }

    static Object shape(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new TreeMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put((String) e.getKey(), shape(e.getValue()));
            }
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            if (!l.isEmpty()) {
                out.add(shape(l.get(0)));
            }
            return out;
        }
        return Json.typeName(v);
    }
}
