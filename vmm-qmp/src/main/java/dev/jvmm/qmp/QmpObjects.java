package dev.jvmm.qmp;

import dev.jvmm.core.machine.ObjectControl;
import dev.jvmm.core.objects.UserObjects;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * object-add and object-del with QEMU 7.2's arguments (the boxed ObjectOptions union: qom-type and id, then
 * the type's properties), for the user-creatable types jvmm has; other types are refused as an unknown
 * qom-type is.
 */
final class QmpObjects {
    private QmpObjects() {
    }

    static void declare(Schema s, ObjectControl objects) {
        s.action("object-add", options(), a -> {
            Map<String, String> props = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : a.entrySet()) {
                if (!e.getKey().equals("qom-type") && !e.getKey().equals("id")) {
                    props.put(e.getKey(), text(e.getValue()));
                }
            }
            objects.add((String) a.get("qom-type"), (String) a.get("id"), props);
        });
        s.action("object-del", QType.struct("q_obj_object-del-arg", req("id", QType.STR)),
                a -> objects.delete((String) a.get("id")));
    }

    /** A property as -object's text: booleans on/off, numbers in decimal, a list of numbers comma-separated. */
    private static String text(Object v) {
        if (v instanceof Boolean b) {
            return b ? "on" : "off";
        }
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            l.forEach(x -> parts.add(x.toString()));
            return String.join(",", parts);
        }
        return v.toString();
    }

    /** ObjectOptions: members of QEMU 7.2's *Properties structs in its order, for the types jvmm creates. */
    static QType.Struct options() {
        QType str = QType.STR;
        QType bool = QType.BOOL;
        QType num = QType.INT;
        QType.Enum policy = new QType.Enum("HostMemPolicy", List.of("default", "preferred", "bind", "interleave"));
        List<QType.Member> memory = List.of(opt("dump", bool), opt("host-nodes", QType.array(num)),
                opt("merge", bool), opt("policy", policy), opt("prealloc", bool), opt("prealloc-threads", num),
                opt("prealloc-context", str), opt("share", bool), opt("reserve", bool), req("size", num),
                opt("x-use-canonical-path-for-ramblock-id", bool));
        List<QType.Variant> all = List.of(
                new QType.Variant("iothread", QType.struct("IothreadProperties", opt("aio-max-batch", num),
                        opt("thread-pool-min", num), opt("thread-pool-max", num), opt("poll-max-ns", num),
                        opt("poll-grow", num), opt("poll-shrink", num))),
                new QType.Variant("memory-backend-file", props("MemoryBackendFileProperties", memory,
                        opt("align", num), opt("discard-data", bool), req("mem-path", str), opt("pmem", bool),
                        opt("readonly", bool))),
                new QType.Variant("memory-backend-memfd", props("MemoryBackendMemfdProperties", memory,
                        opt("hugetlb", bool), opt("hugetlbsize", num), opt("seal", bool))),
                new QType.Variant("memory-backend-ram", props("MemoryBackendProperties", memory)),
                new QType.Variant("secret", QType.struct("SecretProperties",
                        opt("loaded", bool).withFeatures("deprecated"), opt("format", new QType.Enum(
                                "QCryptoSecretFormat", List.of("raw", "base64"))), opt("keyid", str),
                        opt("iv", str), opt("data", str), opt("file", str))));
        List<QType.Variant> variants = all.stream().filter(v -> UserObjects.qomTypes().contains(v.name()))
                .toList();
        return QType.union("ObjectOptions", List.of(req("qom-type", new QType.Enum("ObjectType",
                variants.stream().map(QType.Variant::name).toList())), req("id", str)), "qom-type", variants);
    }

    private static QType.Struct props(String name, List<QType.Member> base, QType.Member... own) {
        List<QType.Member> members = new ArrayList<>(base);
        members.addAll(List.of(own));
        return new QType.Struct(name, members);
    }
}
