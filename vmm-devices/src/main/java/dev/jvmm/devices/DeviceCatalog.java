package dev.jvmm.devices;

import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.ide.AtaDrive;
import dev.jvmm.devices.ide.AtapiCdrom;
import dev.jvmm.devices.ide.IdeBus;
import dev.jvmm.devices.ide.IdeDevice;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.isa.IsaDebugExit;
import dev.jvmm.devices.model.BaseTypes;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.virtio.VirtioBlk;
import dev.jvmm.devices.virtio.VirtioBlkPci;
import dev.jvmm.devices.virtio.VirtioTypes;

import java.util.ArrayList;
import java.util.List;

/**
 * Every type vmm-devices declares, in one list: the abstract types, buses and interfaces, and the device
 * classes with their factories. The machine adds its own and the CPU types to the same registry.
 */
public final class DeviceCatalog {
    private DeviceCatalog() {
    }

    /** Abstract types, buses and interfaces: declared, not creatable with -device. */
    public static List<TypeInfo> abstractTypes() {
        List<TypeInfo> out = new ArrayList<>(BaseTypes.all());
        out.addAll(VirtioTypes.all());
        out.addAll(List.of(VirtioBlkPci.BASE, IdeBus.TYPE, IdeDevice.TYPE, Piix3Ide.PCI_IDE));
        return out;
    }

    /** The creatable device types. */
    public static List<DeviceClass> classes() {
        return List.of(IsaDebugExit.CLASS, VirtioBlk.CLASS, VirtioBlkPci.CLASS, Piix3Ide.CLASS, AtaDrive.CLASS,
                AtapiCdrom.CLASS);
    }

    /** A registry with every type above. */
    public static TypeRegistry registry() {
        TypeRegistry r = new TypeRegistry();
        r.registerAll(abstractTypes());
        for (DeviceClass c : classes()) {
            r.register(c.type());
        }
        return r;
    }
}
