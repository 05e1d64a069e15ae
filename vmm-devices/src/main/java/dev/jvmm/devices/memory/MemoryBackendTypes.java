package dev.jvmm.devices.memory;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;

/**
 * QEMU 7.2's host memory backends (backends/hostmem*.c) as qom-list-properties shows them. libvirt 9.0's
 * capability probe asks for memory-backend-file's properties whatever qom-list-types lists (and crashes on an
 * error reply), so the base type and the file backend are declared. The backends -object creates (RAM, memfd)
 * are declared where they are made.
 */
public final class MemoryBackendTypes {
    private MemoryBackendTypes() {
    }

    private static PropType typed(String name, PropType.Kind kind, String description) {
        return new PropType(name, name, description, kind, List.of());
    }

    public static final TypeInfo MEMORY_BACKEND = TypeInfo.abstractType("memory-backend", "object")
            .implementing("user-creatable")
            .props(Property.of("share", typed("bool", PropType.Kind.BOOL,
                            "Mark the memory as private to QEMU or shared"), false),
                    Property.of("size", typed("int", PropType.Kind.SIZE, "Size of the memory region (ex: 500M)")),
                    Property.of("dump", typed("bool", PropType.Kind.BOOL, "Set to 'off' to exclude from core dump"),
                            true),
                    Property.of("prealloc-threads", typed("int", PropType.Kind.INT64,
                            "Number of CPU threads to use for prealloc"), 1L),
                    Property.of("x-use-canonical-path-for-ramblock-id", PropType.BOOL, true),
                    Property.of("policy", new PropType("HostMemPolicy", "HostMemPolicy", "Set the NUMA policy",
                            PropType.Kind.ENUM, List.of("default", "preferred", "bind", "interleave")), "default"),
                    Property.of("prealloc-context", typed("link<thread-context>", PropType.Kind.STR,
                            "Context to use for creating CPU threads for preallocation")),
                    Property.of("prealloc", typed("bool", PropType.Kind.BOOL, "Preallocate memory"), false),
                    Property.of("reserve", typed("bool", PropType.Kind.BOOL,
                            "Reserve swap space (or huge pages) if applicable"), true),
                    Property.of("host-nodes", typed("int", PropType.Kind.INT64,
                            "Binds memory to the list of NUMA host nodes")),
                    Property.of("merge", typed("bool", PropType.Kind.BOOL, "Mark memory as mergeable"), true))
            .build();

    public static final TypeInfo FILE = TypeInfo.type("memory-backend-file", "memory-backend")
            .props(Property.of("readonly", PropType.BOOL, false),
                    Property.of("align", typed("int", PropType.Kind.SIZE, null), 0L),
                    Property.of("pmem", PropType.BOOL, false),
                    Property.of("mem-path", typed("string", PropType.Kind.STR, null)),
                    Property.of("discard-data", PropType.BOOL, false))
            .build();

    public static List<TypeInfo> all() {
        return List.of(TypeInfo.iface("user-creatable"), MEMORY_BACKEND, FILE);
    }
}
