package dev.jvmm.qmp;

import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.QomProperty;
import dev.jvmm.core.qom.QomService;
import dev.jvmm.core.qom.TypeInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * qom-list, qom-get and qom-set over the objects the machine models ({@link QomControl}), with QEMU 7.2's
 * arguments and errors. Objects qom-get returns are written in QEMU's QDict order ({@link QDictOrder}), as
 * its QOM output visitor builds QDicts.
 */
final class QmpQom {
    private QmpQom() {
    }

    static void declare(Schema s, QomControl qom) {
        s.command("qom-list", QType.struct("q_obj_qom-list-arg", req("path", QType.STR)),
                QType.array(QType.struct("ObjectPropertyInfo", req("name", QType.STR), req("type", QType.STR),
                        opt("description", QType.STR), opt("default-value", QType.ANY))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (QomProperty p : resolve(qom, (String) a.get("path")).properties()) {
                        out.add(QDictOrder.of("name", p.name(), "type", p.type()));
                    }
                    return out;
                });
        QType.Struct propertyInfo = QType.struct("ObjectPropertyInfo", req("name", QType.STR),
                req("type", QType.STR), opt("description", QType.STR), opt("default-value", QType.ANY));
        s.command("qom-list-types", QType.struct("q_obj_qom-list-types-arg", opt("implements", QType.STR),
                opt("abstract", QType.BOOL)), QType.array(QType.struct("ObjectTypeInfo", req("name", QType.STR),
                        opt("abstract", QType.BOOL), opt("parent", QType.STR))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (TypeInfo t : qom.listTypes((String) a.get("implements"),
                            Boolean.TRUE.equals(a.get("abstract")))) {
                        out.add(QDictOrder.of("name", t.name(), "abstract", t.isAbstract() ? true : null,
                                "parent", t.parent()));
                    }
                    return out;
                });
        s.command("qom-list-properties", QType.struct("q_obj_qom-list-properties-arg", req("typename", QType.STR)),
                QType.array(propertyInfo), a -> properties(qom.qomListProperties((String) a.get("typename"))));
        s.command("device-list-properties", QType.struct("q_obj_device-list-properties-arg",
                req("typename", QType.STR)), QType.array(propertyInfo),
                a -> properties(qom.deviceListProperties((String) a.get("typename"))));
        s.command("qom-get", QType.struct("q_obj_qom-get-arg", req("path", QType.STR), req("property", QType.STR)),
                QType.ANY, a -> qdictOrder(resolve(qom, (String) a.get("path")).get((String) a.get("property"))));
        s.action("qom-set", QType.struct("q_obj_qom-set-arg", req("path", QType.STR), req("property", QType.STR),
                req("value", QType.ANY)),
                a -> resolve(qom, (String) a.get("path")).set((String) a.get("property"), a.get("value")));
    }

    private static List<Object> properties(List<QomService.PropertyInfo> props) {
        List<Object> out = new ArrayList<>();
        for (QomService.PropertyInfo p : props) {
            out.add(QDictOrder.of("name", p.name(), "type", p.type(), "description", p.description(),
                    "default-value", p.defaultValue()));
        }
        return out;
    }

    /** QEMU's path resolution errors: an empty partial path matches everything; an unknown one nothing. */
    private static QomObject resolve(QomControl qom, String path) throws QmpError {
        if (path.isEmpty()) {
            throw QmpError.generic("Path '' is ambiguous");
        }
        return qom.resolve(path).orElseThrow(() -> new QmpError(QmpError.DEVICE_NOT_FOUND,
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
}
