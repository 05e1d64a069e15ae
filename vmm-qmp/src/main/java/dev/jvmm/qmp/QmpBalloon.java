package dev.jvmm.qmp;

import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.QomProperty;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * balloon and query-balloon, and the QOM commands qom-list, qom-get and qom-set over the objects the machine
 * models ({@link MachineControl#qomObject}), with QEMU 7.2's arguments and errors. Objects qom-get returns
 * are written in QEMU's QDict order ({@link QDictOrder}), as its QOM output visitor builds QDicts.
 */
final class QmpBalloon {
    private QmpBalloon() {
    }

    static void declare(Schema s, MachineControl m) {
        s.command("balloon", QType.struct("q_obj_balloon-arg", req("value", QType.INT)), QmpCommands.NO_ARGS,
                (a, x) -> {
                    if (!(a.get("value") instanceof Long v)) {
                        throw QmpError.generic("Invalid parameter type for 'value', expected: integer");
                    }
                    call(() -> m.balloon(v));
                    return new LinkedHashMap<>();
                });
        s.command("query-balloon", QmpCommands.NO_ARGS, QType.struct("BalloonInfo", req("actual", QType.INT)),
                (a, x) -> {
                    long[] actual = new long[1];
                    call(() -> actual[0] = m.balloonActual());
                    return QmpCommands.obj("actual", actual[0]);
                });
        s.command("qom-list", QType.struct("q_obj_qom-list-arg", req("path", QType.STR)),
                QType.array(QType.struct("ObjectPropertyInfo", req("name", QType.STR), req("type", QType.STR),
                        opt("description", QType.STR), opt("default-value", QType.ANY))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    for (QomProperty p : resolve(m, (String) a.get("path")).properties()) {
                        out.add(QDictOrder.of("name", p.name(), "type", p.type()));
                    }
                    return out;
                });
        s.command("qom-get", QType.struct("q_obj_qom-get-arg", req("path", QType.STR), req("property", QType.STR)),
                QType.ANY, (a, x) -> {
                    QomObject o = resolve(m, (String) a.get("path"));
                    Object[] v = new Object[1];
                    call(() -> v[0] = o.get((String) a.get("property")));
                    return qdictOrder(v[0]);
                });
        s.command("qom-set", QType.struct("q_obj_qom-set-arg", req("path", QType.STR), req("property", QType.STR),
                req("value", QType.ANY)), QmpCommands.NO_ARGS, (a, x) -> {
                    QomObject o = resolve(m, (String) a.get("path"));
                    call(() -> o.set((String) a.get("property"), a.get("value")));
                    return new LinkedHashMap<>();
                });
    }

    /** QEMU's path resolution errors: an empty partial path matches everything; an unknown one nothing. */
    private static QomObject resolve(MachineControl m, String path) throws QmpError {
        if (path.isEmpty()) {
            throw QmpError.generic("Path '' is ambiguous");
        }
        return m.qomObject(path).orElseThrow(() -> new QmpError(QmpError.DEVICE_NOT_FOUND,
                "Device '" + path + "' not found"));
    }

    /** Objects in QEMU's member order, recursively (lists keep their order). */
    @SuppressWarnings("unchecked")
    static Object qdictOrder(Object v) {
        if (v instanceof Map<?, ?> map) {
            List<Object> kv = new ArrayList<>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
                kv.add(e.getKey());
                kv.add(qdictOrder(e.getValue()));
            }
            return QDictOrder.of(kv.toArray());
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) {
                out.add(qdictOrder(o));
            }
            return out;
        }
        return v;
    }

    private interface Call {
        void run() throws MachineCommandException;
    }

    private static void call(Call c) throws QmpError {
        try {
            c.run();
        } catch (MachineCommandException e) {
            throw new QmpError(e.errorClass(), e.getMessage());
        }
    }
}
