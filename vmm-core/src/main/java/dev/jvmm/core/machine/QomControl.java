package dev.jvmm.core.machine;

import dev.jvmm.core.qom.QomService;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;
import java.util.Optional;

/**
 * The machine's object model as QMP reaches it: the QOM composition tree (qom-list, qom-get, qom-set) and
 * the types behind it (qom-list-types, qom-list-properties, device-list-properties).
 */
public interface QomControl {
    /** A machine that models no QOM objects or types. */
    QomControl NONE = path -> Optional.empty();

    /** The object at path (absolute, or a partial path QEMU would resolve uniquely), if this machine models it. */
    Optional<QomObject> resolve(String path);

    /** qom-list-types: implementsType null for every type; abstract ones only when asked. */
    default List<TypeInfo> listTypes(String implementsType, boolean includeAbstract) {
        return List.of();
    }

    /** qom-list-properties, with QEMU's "Class 'X' not found". */
    default List<QomService.PropertyInfo> qomListProperties(String typename) throws MachineCommandException {
        throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                "Class '" + typename + "' not found");
    }

    /** device-list-properties, with QEMU's "Device 'X' not found" and abstract-type refusal. */
    default List<QomService.PropertyInfo> deviceListProperties(String typename) throws MachineCommandException {
        throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                "Device '" + typename + "' not found");
    }
}
