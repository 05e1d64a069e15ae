package dev.jvmm.devices.virtio;

import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.BaseTypes;
import dev.jvmm.devices.model.Bus;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.Placement;

import java.util.List;
import java.util.Objects;

import static dev.jvmm.core.qom.Property.fixed;

/**
 * The abstract virtio types (QEMU 7.2 hw/virtio/virtio.c, virtio-pci.c) and the shape every virtio PCI proxy
 * shares: an abstract "NAME-pci-base" under virtio-pci and the generic "NAME-pci" with disable-legacy and
 * disable-modern, whose virtio-backend child's properties it offers as its own. jvmm's transport is
 * modern-only, without packed rings, IOMMU or PCIe: those properties keep their defaults. Own properties
 * are declared in QEMU's qom-list order.
 */
public final class VirtioTypes {
    private VirtioTypes() {
    }

    private static final String MODERN_ONLY = "jvmm's virtio-pci devices are modern-only: ";

    public static final TypeInfo VIRTIO_DEVICE = TypeInfo.abstractType("virtio-device", "device")
            .bus("virtio-bus")
            // queue_reset: the ring-reset feature is not offered; either value leaves the guest without it
            .props(Property.of("queue_reset", PropType.BIT, true),
                    Property.of("use-disabled-flag", PropType.BOOL, true),
                    fixed("packed", PropType.BIT, false),
                    fixed("iommu_platform", PropType.BIT, false),
                    fixed("event_idx", PropType.BIT, true).only("property 'event_idx=VALUE' is not supported by jvmm",
                            true),
                    Property.of("x-disable-legacy-check", PropType.BOOL, false),
                    fixed("notify_on_empty", PropType.BIT, true)
                            .only("property 'notify_on_empty=VALUE' is not supported by jvmm", true),
                    fixed("any_layout", PropType.BIT, true)
                            .only("property 'any_layout=VALUE' is not supported by jvmm", true),
                    Property.of("use-started", PropType.BOOL, true),
                    fixed("indirect_desc", PropType.BIT, true)
                            .only("property 'indirect_desc=VALUE' is not supported by jvmm", true))
            .build();

    /**
     * virtio-pci functions honour pci-device's romfile (jvmm's other PCI functions refuse it): the
     * declaration replaces the parent's restricted one and keeps its place in the property list.
     */
    public static final TypeInfo VIRTIO_PCI = TypeInfo.abstractType("virtio-pci", "pci-device")
            .props(Property.of("romfile", PropType.STR),
                    Property.of("migrate-extra", PropType.BIT, true),
                    fixed("ats", PropType.BIT, false),
                    Property.of("x-ignore-backend-features", PropType.BOOL, false),
                    Property.of("x-pcie-pm-init", PropType.BIT, true),
                    fixed("aer", PropType.BIT, false),
                    Property.of("x-pcie-flr-init", PropType.BIT, true),
                    Property.of("x-pcie-lnkctl-init", PropType.BIT, true),
                    Property.of("x-ats-page-aligned", PropType.BIT, true),
                    fixed("page-per-vq", PropType.BIT, false),
                    Property.of("x-pcie-deverr-init", PropType.BIT, true),
                    Property.of("virtio-pci-bus-master-bug-migration", PropType.BIT, false),
                    fixed("modern-pio-notify", PropType.BIT, false),
                    fixed("x-disable-pcie", PropType.BIT, false))
            .build();

    public static final TypeInfo VIRTIO_BUS = TypeInfo.abstractType("virtio-bus", "bus").build();
    public static final TypeInfo VIRTIO_PCI_BUS = BaseTypes.busType("virtio-pci-bus", "virtio-bus").build();

    /** disable-legacy and disable-modern, which QEMU gives the generic (neither transitional nor not) type. */
    public static final List<Property> GENERIC = List.of(
            Property.of("disable-legacy", PropType.ON_OFF_AUTO, "auto")
                    .only(MODERN_ONLY + "disable-legacy=VALUE is not supported", "auto", "on"),
            Property.of("disable-modern", PropType.BOOL, false)
                    .only(MODERN_ONLY + "disable-modern=VALUE is not supported", false));

    /** The ioeventfd property of proxies that have it (QEMU's virtio-pci "ioeventfd", on by default). */
    public static final Property IOEVENTFD = Property.of("ioeventfd", PropType.BIT, true);

    /**
     * Where a proxy registers its queues' notify addresses: KVM's ioeventfds with ioeventfd=on; none with
     * off, so that every notify is an MMIO exit to the transport's notify handler on the vCPU thread, as
     * QEMU's virtio_pci_notify_write without ioeventfd.
     */
    public static IoEventRegistry ioevents(DeviceContext ctx, PropertyValues p) {
        return p.bool(IOEVENTFD.name()) ? ctx.ioevents() : IoEventRegistry.NONE;
    }

    /** "NAME-pci-base", abstract, with the properties QEMU gives it (ioeventfd, vectors, ... where it has them). */
    public static TypeInfo pciBase(String name, Property... own) {
        return TypeInfo.abstractType(name + "-pci-base", "virtio-pci").props(own).build();
    }

    /** The generic proxy "NAME-pci" over backend type, with its own extra properties. */
    public static TypeInfo.Builder pciGeneric(String name, String backendType, Property... own) {
        return TypeInfo.type(name + "-pci", name + "-pci-base")
                .implementing("conventional-pci-device", "pci-express-device")
                .backend("virtio-backend", backendType)
                .prop(Property.object("virtio-backend", PropType.child(backendType)))
                .props(own)
                .props(GENERIC.toArray(new Property[0]));
    }

    /**
     * A proxy's QOM children as QEMU's virtio_instance_init_common and virtio_pci_bus_new make them: the
     * virtio-pci-bus "virtio-bus" and, on it, the anonymous backend child, whose properties read the proxy's
     * settled values (QEMU's aliases share them). Returns the backend's node.
     */
    public static QomNode addBackend(Placement where, PropertyValues p) {
        QomNode proxy = where.node();
        // realized, "auto" is what the function is: jvmm's transport has no legacy interface
        proxy.addConstant("disable-legacy", "OnOffAuto", "on");
        TypeInfo.Backend backend = where.model().types().ancestry(proxy.type()).stream()
                .map(TypeInfo::backend).filter(Objects::nonNull).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(proxy.type() + " is no virtio proxy"));
        QomNode bus = proxy.addChild("virtio-bus", VIRTIO_PCI_BUS.name());
        bus.addConstant("realized", "bool", true);
        QomNode node = proxy.addChild(backend.childName(), backend.type());
        bus.addLink("child[0]", backend.type(), node::path);
        bus.addLink("hotplug-handler", "hotplug-handler", () -> "");
        where.model().describe(node, p, new Bus("virtio-bus", VIRTIO_PCI_BUS.name(), bus, null), null);
        return node;
    }

    public static List<TypeInfo> all() {
        return List.of(VIRTIO_DEVICE, VIRTIO_PCI, VIRTIO_BUS, VIRTIO_PCI_BUS);
    }
}
