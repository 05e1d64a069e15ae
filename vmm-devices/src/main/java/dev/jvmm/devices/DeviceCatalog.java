package dev.jvmm.devices;

import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.isa.IsaDebugExit;
import dev.jvmm.devices.isa.PvPanic;
import dev.jvmm.devices.model.BaseTypes;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.virtio.VirtioBalloon;
import dev.jvmm.devices.virtio.VirtioBalloonPci;
import dev.jvmm.devices.virtio.VirtioSerial;
import dev.jvmm.devices.virtio.VirtioSerialPci;
import dev.jvmm.devices.virtio.VirtioSerialPort;
import dev.jvmm.devices.virtio.VirtioTypes;
import dev.jvmm.devices.watchdog.I6300Esb;
import dev.jvmm.devices.watchdog.Ib700;

import java.util.ArrayList;
import java.util.List;

/**
 * Every type vmm-devices declares, in one list: the abstract types, buses and interfaces, and the device
 * classes with their factories. The machine adds its own and the CPU types to the same registry.
 */
public final class DeviceCatalog {
    private DeviceCatalog() {
    }

    /** Abstract types, buses, interfaces and proxies' backends: declared, not creatable with -device. */
    public static List<TypeInfo> abstractTypes() {
        List<TypeInfo> out = new ArrayList<>(BaseTypes.all());
        out.addAll(VirtioTypes.all());
        out.addAll(List.of(VirtioSerial.TYPE, VirtioSerial.BUS, VirtioSerialPci.BASE, VirtioSerialPort.PORT,
                VirtioBalloon.TYPE, VirtioBalloonPci.BASE));
        return out;
    }

    /** The creatable device types. */
    public static List<DeviceClass> classes() {
        return List.of(IsaDebugExit.CLASS, VirtioSerialPci.CLASS, VirtioSerialPort.SERIAL_PORT_CLASS,
                VirtioSerialPort.CONSOLE_CLASS, VirtioBalloonPci.CLASS, I6300Esb.CLASS, Ib700.CLASS, PvPanic.CLASS);
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
