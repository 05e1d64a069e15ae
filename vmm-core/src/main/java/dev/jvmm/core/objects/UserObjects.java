package dev.jvmm.core.objects;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The -object objects (QEMU's user-creatable objects under /objects), in command-line order: secrets,
 * memory backends and iothreads. Created and checked when the command line is read, as QEMU does before it
 * builds the machine; iothreads start with the machine.
 */
public final class UserObjects implements AutoCloseable {
    /** Every qom-type -object takes, with the properties it takes besides qom-type and id. */
    static final Map<String, Set<String>> TYPES = Map.of(
            "secret", Set.copyOf(Secret.KEYS),
            MemoryBackend.RAM, Set.copyOf(MemoryBackend.KEYS),
            MemoryBackend.MEMFD, union(MemoryBackend.KEYS, MemoryBackend.MEMFD_KEYS),
            MemoryBackend.FILE, union(MemoryBackend.KEYS, MemoryBackend.FILE_KEYS),
            "iothread", Set.copyOf(IoThread.KEYS));

    private final Map<String, Object> byId = new LinkedHashMap<>();

    private UserObjects() {
    }

    private static Set<String> union(List<String> a, List<String> b) {
        Set<String> s = new LinkedHashSet<>(a);
        s.addAll(b);
        return Set.copyOf(s);
    }

    /** The type declarations, for qom-list-types and qom-list-properties. */
    public static List<TypeInfo> types() {
        return List.of(TypeInfo.iface("user-creatable"), Secret.COMMON, Secret.TYPE, MemoryBackend.BASE,
                MemoryBackend.RAM_TYPE, MemoryBackend.MEMFD_TYPE, IoThread.BASE, IoThread.TYPE);
    }

    /**
     * Reads every -object value and creates the objects; threadName names an iothread's thread from its
     * id (QEMU's "IO ID" with -name debug-threads=on).
     */
    public static UserObjects create(List<String> args, Function<String, String> threadName) {
        UserObjects objects = new UserObjects();
        for (String a : args) {
            ObjectOptions o = ObjectOptions.parse(a);
            if (objects.byId.containsKey(o.id())) {
                throw new OptionException(o.option(), "Duplicate ID '" + o.id() + "' for object");
            }
            Object created = switch (o.type()) {
                case "secret" -> Secret.create(o, id -> objects.byId.get(id) instanceof Secret s ? s : null);
                case "iothread" -> new IoThread(o, threadName.apply(o.id()));
                default -> MemoryBackend.create(o);
            };
            objects.byId.put(o.id(), created);
        }
        return objects;
    }

    /** QEMU's id for the pc machine's RAM backend, reserved when -machine memory-backend= is not given. */
    public static final String DEFAULT_RAM_ID = "pc.ram";

    /**
     * The backend QEMU makes for guest RAM when -machine memory-backend= names none: private anonymous memory
     * of the machine's size, with the machine's mem-merge and dump-guest-core, listed under /objects.
     */
    public MemoryBackend addDefaultRam(long size, boolean merge, boolean dump) {
        MemoryBackend m = new MemoryBackend(DEFAULT_RAM_ID, MemoryBackend.RAM, size, false, merge, dump, false, true,
                false, Map.of("x-use-canonical-path-for-ramblock-id", "off"), null);
        byId.put(DEFAULT_RAM_ID, m);
        return m;
    }

    /** Whether an object of any type has this id. */
    public boolean has(String id) {
        return byId.containsKey(id);
    }

    /** No objects. */
    public static UserObjects none() {
        return new UserObjects();
    }

    public Optional<MemoryBackend> memoryBackend(String id) {
        return byId.get(id) instanceof MemoryBackend m ? Optional.of(m) : Optional.empty();
    }

    public Optional<Secret> secret(String id) {
        return byId.get(id) instanceof Secret s ? Optional.of(s) : Optional.empty();
    }

    public List<IoThread> iothreads() {
        List<IoThread> out = new ArrayList<>();
        byId.values().forEach(o -> {
            if (o instanceof IoThread t) {
                out.add(t);
            }
        });
        return out;
    }

    /** Starts the iothreads. */
    public void start() {
        iothreads().forEach(IoThread::start);
    }

    /** Adds a node per object under /objects with the properties qom-list and qom-get show. */
    public void describe(QomNode objectsRoot) {
        for (Map.Entry<String, Object> e : byId.entrySet()) {
            Object o = e.getValue();
            if (o instanceof Secret s) {
                QomNode n = objectsRoot.addChild(e.getKey(), "secret");
                n.addConstant("iv", "string", orEmpty(s.iv()));
                n.addConstant("keyid", "string", orEmpty(s.keyid()));
                n.addConstant("loaded", "bool", true);
                n.addConstant("format", "QCryptoSecretFormat", s.format());
                n.addConstant("file", "string", orEmpty(s.file()));
                n.addConstant("data", "string", orEmpty(s.data()));
            } else if (o instanceof MemoryBackend m) {
                QomNode n = objectsRoot.addChild(e.getKey(), m.type());
                n.addConstant("share", "bool", m.share());
                n.addConstant("size", "int", m.size());
                n.addConstant("dump", "bool", m.dump() == null || m.dump());
                n.addConstant("prealloc-threads", "int", Long.parseLong(m.values().getOrDefault("prealloc-threads",
                        "1")));
                n.addConstant("x-use-canonical-path-for-ramblock-id", "bool",
                        !"off".equals(m.values().get("x-use-canonical-path-for-ramblock-id")));
                n.addConstant("policy", "HostMemPolicy", "default");
                n.addConstant("prealloc", "bool", m.prealloc());
                n.addConstant("reserve", "bool", m.reserve());
                n.addConstant("host-nodes", "int", List.of());
                n.addConstant("merge", "bool", m.merge() == null || m.merge());
                if (m.type().equals(MemoryBackend.FILE)) {
                    n.addConstant("mem-path", "string", m.memPath());
                    n.addConstant("discard-data", "bool", "on".equals(m.values().get("discard-data")));
                    n.addConstant("align", "int", 0L);
                    n.addConstant("pmem", "bool", false);
                    n.addConstant("readonly", "bool", false);
                }
                if (m.type().equals(MemoryBackend.MEMFD)) {
                    n.addConstant("hugetlb", "bool", false);
                    n.addConstant("seal", "bool", m.seal());
                    n.addConstant("hugetlbsize", "int", 0L);
                }
            } else if (o instanceof IoThread t) {
                QomNode n = objectsRoot.addChild(e.getKey(), "iothread");
                n.addConstant("thread-pool-min", "int", t.threadPoolMin());
                n.addConstant("aio-max-batch", "int", t.aioMaxBatch());
                n.addConstant("thread-pool-max", "int", t.threadPoolMax());
                n.addConstant("poll-max-ns", "int", t.pollMaxNs());
                n.addConstant("poll-grow", "int", t.pollGrow());
                n.addConstant("poll-shrink", "int", t.pollShrink());
            }
        }
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    @Override
    public void close() {
        iothreads().forEach(IoThread::close);
    }
}
