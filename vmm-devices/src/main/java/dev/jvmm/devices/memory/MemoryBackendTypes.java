package dev.jvmm.devices.memory;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;

/**
 * QEMU 7.2's host memory backends (backends/hostmem*.c) as qom-list-properties shows them. libvirt 9.0's
 * capability probe asks for memory-backend-file's properties whatever qom-list-types lists (and crashes on an
 * error reply), so the file backend is declared too; its parent memory-backend, the RAM and memfd backends
 * that -object creates, and the user-creatable interface come from vmm-core's UserObjects.
 */
public final class MemoryBackendTypes {
    private MemoryBackendTypes() {
    }

    private static PropType typed(String name, PropType.Kind kind, String description) {
        return new PropType(name, name, description, kind, List.of());
    }

    public static final TypeInfo FILE = TypeInfo.type("memory-backend-file", "memory-backend")
            .props(Property.of("readonly", PropType.BOOL, false),
                    Property.of("align", typed("int", PropType.Kind.SIZE, null), 0L),
                    Property.of("pmem", PropType.BOOL, false),
                    Property.of("mem-path", typed("string", PropType.Kind.STR, null)),
                    Property.of("discard-data", PropType.BOOL, false))
            .build();

    public static List<TypeInfo> all() {
        return List.of(FILE);
    }
}
