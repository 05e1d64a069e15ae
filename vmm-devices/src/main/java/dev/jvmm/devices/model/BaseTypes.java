package dev.jvmm.devices.model;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;

import static dev.jvmm.core.qom.Property.fixed;
import static dev.jvmm.core.qom.Property.object;

/**
 * The abstract types every device type descends from, with QEMU 7.2's properties (hw/core/qdev.c,
 * hw/pci/pci.c), the bus types, and the QOM interfaces jvmm's types list. Each type's own properties are
 * declared in the order QEMU's qom-list and device-list-properties show them.
 */
public final class BaseTypes {
    private BaseTypes() {
    }

    public static final TypeInfo OBJECT = TypeInfo.abstractType("object", null).build();

    public static final TypeInfo DEVICE = TypeInfo.abstractType("device", "object")
            .implementing("resettable", "vmstate-if")
            .props(object("parent_bus", PropType.link("bus")), object("realized", PropType.object("bool")),
                    object("hotplugged", PropType.object("bool")), object("hotpluggable", PropType.object("bool")))
            .build();

    public static final TypeInfo ISA_DEVICE = TypeInfo.abstractType("isa-device", "device").bus("ISA").build();

    public static final TypeInfo SYS_BUS_DEVICE = TypeInfo.abstractType("sys-bus-device", "device")
            .bus("System").build();

    /**
     * A conventional PCI function. Option ROMs (romfile) are honoured by the types that redeclare romfile
     * (virtio-pci's); jvmm's bus has no PCIe capabilities and no failover pairing: those properties take
     * their defaults (the PCIe ones have no effect on a conventional bus in
     * QEMU either).
     */
    public static final TypeInfo PCI_DEVICE = TypeInfo.abstractType("pci-device", "device").bus("PCI")
            .props(Property.of("failover_pair_id", PropType.STR).only("failover_pair_id is not supported by jvmm"),
                    Property.of("romfile", PropType.STR).only("jvmm gives option ROMs to virtio-pci functions"
                            + " only: romfile=VALUE is not supported", ""),
                    Property.of("addr", PropType.PCI_DEVFN, -1L),
                    Property.of("romsize", PropType.UINT32, 0xffff_ffffL),
                    Property.of("x-pcie-lnksta-dllla", PropType.BIT, true),
                    Property.of("rombar", PropType.UINT32, 1L),
                    Property.of("x-pcie-extcap-init", PropType.BIT, true),
                    fixed("acpi-index", PropType.UINT32, 0L),
                    fixed("multifunction", PropType.BIT, false),
                    object("legacy-addr", PropType.object("str")))
            .build();

    // ---- buses

    public static final TypeInfo BUS = TypeInfo.abstractType("bus", "object").implementing("resettable").build();
    public static final TypeInfo SYSTEM_BUS = busType("System", "bus").build();
    public static final TypeInfo PCI_BUS = busType("PCI", "bus").build();
    public static final TypeInfo ISA_BUS = busType("ISA", "bus").build();

    /**
     * A concrete bus type: QEMU's bus instance_init adds realized and hotplug-handler to every bus object, so
     * only concrete bus types (whose qom-list-properties QEMU answers from an instance) list them.
     */
    public static TypeInfo.Builder busType(String name, String parent) {
        return TypeInfo.type(name, parent).props(object("realized", PropType.object("bool")),
                object("hotplug-handler", PropType.link("hotplug-handler")));
    }
    public static final TypeInfo CONTAINER = TypeInfo.type("container", "object").build();

    /** The interfaces the declared types list. */
    public static final List<TypeInfo> INTERFACES = List.of(TypeInfo.abstractType("interface", null).build(),
            TypeInfo.iface("resettable"), TypeInfo.iface("vmstate-if"), TypeInfo.iface("conventional-pci-device"),
            TypeInfo.iface("pci-express-device"), TypeInfo.iface("hotplug-handler"),
            TypeInfo.iface("acpi-dev-aml-interface"), TypeInfo.iface("acpi-device-interface"));

    public static List<TypeInfo> all() {
        List<TypeInfo> out = new java.util.ArrayList<>(List.of(OBJECT, DEVICE, ISA_DEVICE, SYS_BUS_DEVICE,
                PCI_DEVICE, BUS, SYSTEM_BUS, PCI_BUS, ISA_BUS, CONTAINER));
        out.addAll(INTERFACES);
        return out;
    }
}
