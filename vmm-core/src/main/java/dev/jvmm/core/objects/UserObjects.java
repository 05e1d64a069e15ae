package dev.jvmm.core.objects;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.ObjectControl;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;

import java.util.ArrayList;
import java.util.HashSet;
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
 * builds the machine; iothreads start with the machine. While it runs, object-add and object-del add and
 * remove them ({@link ObjectControl}); a memory backend the machine maps (its RAM, a DIMM's memory) is in
 * use and stays. A backend added at runtime maps nothing until a memory device takes it. Synchronized: the
 * machine's assembly and the QMP main loop share it.
 */
public final class UserObjects implements AutoCloseable, ObjectControl {
    /** Every qom-type -object takes, with the properties it takes besides qom-type and id. */
    static final Map<String, Set<String>> TYPES = Map.of(
            "secret", Set.copyOf(Secret.KEYS),
            MemoryBackend.RAM, Set.copyOf(MemoryBackend.KEYS),
            MemoryBackend.MEMFD, union(MemoryBackend.KEYS, MemoryBackend.MEMFD_KEYS),
            MemoryBackend.FILE, union(MemoryBackend.KEYS, MemoryBackend.FILE_KEYS),
            "iothread", Set.copyOf(IoThread.KEYS));

    private final Map<String, Object> byId = new LinkedHashMap<>();
    /** Ids of memory backends something maps (QEMU's host_memory_backend_is_mapped). */
    private final Set<String> inUse = new HashSet<>();
    private final Function<String, String> threadName;
    /** /objects once the machine's tree exists: runtime objects get and lose their nodes there. */
    private QomNode qomRoot;
    private boolean started;

    private UserObjects(Function<String, String> threadName) {
        this.threadName = threadName;
    }

    private static Set<String> union(List<String> a, List<String> b) {
        Set<String> s = new LinkedHashSet<>(a);
        s.addAll(b);
        return Set.copyOf(s);
    }

    /** The qom-type values -object and object-add take. */
    public static Set<String> qomTypes() {
        return TYPES.keySet();
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
        UserObjects objects = new UserObjects(threadName);
        for (String a : args) {
            ObjectOptions o = ObjectOptions.parse(a);
            if (objects.byId.containsKey(o.id())) {
                throw new OptionException(o.option(), "Duplicate ID '" + o.id() + "' for object");
            }
            objects.byId.put(o.id(), objects.make(o));
        }
        return objects;
    }

    private Object make(ObjectOptions o) {
        return switch (o.type()) {
            case "secret" -> Secret.create(o, id -> byId.get(id) instanceof Secret s ? s : null);
            case "iothread" -> new IoThread(o, threadName.apply(o.id()));
            default -> MemoryBackend.create(o);
        };
    }

    /** object-add: QEMU's user_creatable_add_type, errors as its QMP texts. */
    @Override
    public synchronized void add(String type, String id, Map<String, String> properties)
            throws MachineCommandException {
        ObjectOptions o;
        Object created;
        try {
            o = ObjectOptions.of(type, id, properties);
            created = make(o);
        } catch (OptionException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
        if (byId.containsKey(id)) {
            // QEMU completes the object before it adds it under /objects, where the name is taken
            if (created instanceof IoThread t) {
                t.close();
            }
            throw MachineCommandException.generic("attempt to add duplicate property '" + id
                    + "' to object (type 'container')");
        }
        byId.put(id, created);
        if (created instanceof IoThread t && started) {
            t.start();
        }
        if (qomRoot != null) {
            describe(qomRoot, id, created);
        }
    }

    /** object-del: refused for an object in use; an iothread's thread ends. */
    @Override
    public synchronized void delete(String id) throws MachineCommandException {
        Object o = byId.get(id);
        if (o == null) {
            throw MachineCommandException.generic("object '" + id + "' not found");
        }
        if (inUse.contains(id)) {
            throw MachineCommandException.generic("object '" + id + "' is in use, can not be deleted");
        }
        byId.remove(id);
        if (o instanceof IoThread t) {
            t.close();
        }
        if (qomRoot != null) {
            qomRoot.removeChild(id);
        }
    }

    /** Something maps the memory backend (the machine's RAM, a DIMM): object-del refuses it from now on. */
    public synchronized void markInUse(String id) {
        inUse.add(id);
    }

    /** The memory backend's user let it go (a DIMM unplugged): object-del may take it. */
    public synchronized void release(String id) {
        inUse.remove(id);
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
        inUse.add(DEFAULT_RAM_ID);
        return m;
    }

    /** Whether an object of any type has this id. */
    public synchronized boolean has(String id) {
        return byId.containsKey(id);
    }

    /** No objects. */
    public static UserObjects none() {
        return new UserObjects(id -> "iothread-" + id);
    }

    public synchronized Optional<MemoryBackend> memoryBackend(String id) {
        return byId.get(id) instanceof MemoryBackend m ? Optional.of(m) : Optional.empty();
    }

    public synchronized Optional<Secret> secret(String id) {
        return byId.get(id) instanceof Secret s ? Optional.of(s) : Optional.empty();
    }

    public synchronized List<IoThread> iothreads() {
        List<IoThread> out = new ArrayList<>();
        byId.values().forEach(o -> {
            if (o instanceof IoThread t) {
                out.add(t);
            }
        });
        return out;
    }

    /** Starts the iothreads; those object-add makes later start at once. */
    public synchronized void start() {
        started = true;
        iothreads().forEach(IoThread::start);
    }

    /**
     * Adds a node per object under /objects with the properties qom-list and qom-get show, and keeps the
     * node for the objects object-add and object-del add and remove later.
     */
    public synchronized void describe(QomNode objectsRoot) {
        qomRoot = objectsRoot;
        for (Map.Entry<String, Object> e : byId.entrySet()) {
            describe(objectsRoot, e.getKey(), e.getValue());
        }
    }

    private static void describe(QomNode objectsRoot, String id, Object o) {
        if (o instanceof Secret s) {
            QomNode n = objectsRoot.addChild(id, "secret");
            n.addConstant("iv", "string", orEmpty(s.iv()));
            n.addConstant("keyid", "string", orEmpty(s.keyid()));
            n.addConstant("loaded", "bool", true);
            n.addConstant("format", "QCryptoSecretFormat", s.format());
            n.addConstant("file", "string", orEmpty(s.file()));
            n.addConstant("data", "string", orEmpty(s.data()));
        } else if (o instanceof MemoryBackend m) {
            QomNode n = objectsRoot.addChild(id, m.type());
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
            QomNode n = objectsRoot.addChild(id, "iothread");
            n.addConstant("thread-pool-min", "int", t.threadPoolMin());
            n.addConstant("aio-max-batch", "int", t.aioMaxBatch());
            n.addConstant("thread-pool-max", "int", t.threadPoolMax());
            n.addConstant("poll-max-ns", "int", t.pollMaxNs());
            n.addConstant("poll-grow", "int", t.pollGrow());
            n.addConstant("poll-shrink", "int", t.pollShrink());
        }
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    @Override
    public synchronized void close() {
        iothreads().forEach(IoThread::close);
    }
}
