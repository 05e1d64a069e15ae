package dev.jvmm.devices.pc;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.QomTree;
import dev.jvmm.devices.model.DeviceModel;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The firmware's boot list from the devices' bootindex properties, in the Open Firmware device path format
 * QEMU 7.2 writes to fw_cfg's "bootorder" (softmmu/bootdevice.c get_boot_devices_list, qdev_get_fw_dev_path):
 * the PCI root "/pci@i0cf8", a PCI function as "NAME@SLOT[,FUNCTION]" in hex, then the device's own part.
 */
public final class BootOrder {
    /** The i440FX host bridge's node: configuration mechanism 1 at I/O port 0xcf8. */
    public static final String PCI_ROOT = "/pci@i0cf8";

    private BootOrder() {
    }

    /** The paths of the devices with a non-negative bootindex, lowest index first (ties in creation order). */
    public static List<String> paths(DeviceModel model) {
        record Boot(long index, String path) {
        }
        QomTree tree = model.tree();
        List<Boot> boots = new ArrayList<>();
        for (DeviceModel.Device d : model.devices()) {
            Optional<QomNode> node = tree.resolve(d.path());
            if (node.isEmpty() || !node.get().has("bootindex")) {
                continue;
            }
            long index = number(node.get(), "bootindex");
            if (index >= 0) {
                path(tree, d.type(), node.get()).ifPresent(p -> boots.add(new Boot(index, p)));
            }
        }
        boots.sort(Comparator.comparingLong(Boot::index));
        return boots.stream().map(Boot::path).toList();
    }

    /** A bootable device's path; empty for types the firmware cannot boot from. */
    static Optional<String> path(QomTree tree, String type, QomNode node) {
        return switch (type) {
            // an IDE unit: its controller, "drive@BUS", then "disk@UNIT" for disks and CD-ROMs alike
            case "ide-hd", "ide-cd" -> {
                String busPath = (String) get(node, "parent_bus");
                QomNode bus = tree.resolve(busPath).orElseThrow();
                QomNode controller = bus.parent().orElseThrow();
                int busIndex = Integer.parseInt(bus.name().substring(bus.name().lastIndexOf('.') + 1));
                yield Optional.of(PCI_ROOT + "/" + pciFunction("ide", controller) + "/drive@"
                        + Integer.toHexString(busIndex) + "/disk@" + Long.toHexString(number(node, "unit")));
            }
            // virtio-blk-pci names itself a SCSI controller with one disk, target 0, LUN 0
            case "virtio-blk-pci" -> Optional.of(PCI_ROOT + "/" + pciFunction("scsi", node) + "/disk@0,0");
            default -> Optional.empty();
        };
    }

    private static String pciFunction(String name, QomNode node) {
        int devfn = (int) number(node, "addr");
        int slot = devfn >> 3;
        int function = devfn & 7;
        return name + "@" + Integer.toHexString(slot) + (function != 0 ? "," + Integer.toHexString(function) : "");
    }

    private static long number(QomNode node, String prop) {
        return ((Number) get(node, prop)).longValue();
    }

    /** A property the device's own declaration gives it, so reading it cannot fail. */
    private static Object get(QomNode node, String prop) {
        try {
            return node.get(prop);
        } catch (PropertyException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
