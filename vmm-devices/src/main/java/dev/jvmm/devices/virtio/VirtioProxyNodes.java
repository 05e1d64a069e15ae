package dev.jvmm.devices.virtio;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.model.Placement;

/**
 * The QOM children QEMU gives a virtio PCI proxy: its "virtio-bus" (type virtio-pci-bus) and on it the
 * "virtio-backend" device, whose properties read the proxy's (QEMU aliases them the other way round; the
 * values are the same either way).
 */
public final class VirtioProxyNodes {
    private VirtioProxyNodes() {
    }

    /** Adds both children under the proxy's node; returns the backend's node. */
    public static QomNode add(Placement where, String backendType) {
        QomNode proxy = where.node();
        QomNode bus = proxy.addChild("virtio-bus", VirtioTypes.VIRTIO_PCI_BUS.name());
        QomNode backend = proxy.addChild("virtio-backend", backendType);
        bus.addConstant("realized", "bool", true);
        bus.addLink("child[0]", backendType, backend::path);
        bus.addLink("hotplug-handler", "hotplug-handler", () -> null);
        TypeRegistry types = where.model().types();
        for (TypeRegistry.Resolved r : types.properties(backendType)) {
            String name = r.property().name();
            String qapiType = r.property().type().qapiType();
            switch (name) {
                case "type" -> {
                }
                case "parent_bus" -> backend.addLink(name, "bus", bus::path);
                case "realized" -> backend.addConstant(name, "bool", true);
                case "hotplugged", "hotpluggable" -> backend.addConstant(name, "bool", false);
                default -> {
                    if (name.startsWith("legacy-")) {
                        backend.addProperty(name, qapiType, () -> {
                            throw new PropertyException("Property '" + backendType + "." + name
                                    + "' is not readable");
                        }, null);
                    } else if (proxy.has(name)) {
                        backend.addProperty(name, qapiType, () -> proxy.get(name), v -> proxy.set(name, v));
                    }
                }
            }
        }
        return backend;
    }
}
