package dev.jvmm.devices.pc;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

/**
 * QEMU's "none" machine type (hw/core/null-machine.c): no board, no devices, no vCPU; libvirt's capability
 * probe runs it to ask QMP what the emulator can do.
 */
public final class NoneMachineType {
    /** The machine type's QOM name. */
    public static final String NAME = "none-machine";

    /** The properties of the "machine" base type and the two containers every machine has. */
    public static final TypeInfo TYPE = TypeInfo.type(NAME, "machine")
            .props(Property.object("peripheral-anon", PropType.child("container")),
                    Property.object("peripheral", PropType.child("container")))
            .build();

    private NoneMachineType() {
    }
}
