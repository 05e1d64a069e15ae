package dev.jvmm.devices;

import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.devices.acpi.Piix4Pm;
import dev.jvmm.devices.ide.AtaDrive;
import dev.jvmm.devices.ide.AtapiCdrom;
import dev.jvmm.devices.ide.IdeBus;
import dev.jvmm.devices.ide.IdeDevice;
import dev.jvmm.devices.ide.Piix3Ide;
import dev.jvmm.devices.isa.CmosRtc;
import dev.jvmm.devices.isa.I8042;
import dev.jvmm.devices.isa.IsaDebugExit;
import dev.jvmm.devices.isa.IsaDebugcon;
import dev.jvmm.devices.isa.Port92;
import dev.jvmm.devices.isa.PvPanic;
import dev.jvmm.devices.isa.Uart16550;
import dev.jvmm.devices.model.BaseTypes;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.net.E1000Device;
import dev.jvmm.devices.net.VirtioNetPci;
import dev.jvmm.devices.pc.InKernelDevices;
import dev.jvmm.devices.memory.MemoryBackendTypes;
import dev.jvmm.devices.memory.PcDimm;
import dev.jvmm.devices.pc.NoneMachineType;
import dev.jvmm.devices.pc.PcMachineType;
import dev.jvmm.devices.pci.I440fxHostBridge;
import dev.jvmm.devices.pci.PciHostBridge;
import dev.jvmm.devices.pci.Piix3IsaBridge;
import dev.jvmm.devices.timer.Hpet;
import dev.jvmm.devices.usb.Piix3Uhci;
import dev.jvmm.devices.virtio.VirtioBalloon;
import dev.jvmm.devices.virtio.VirtioBalloonPci;
import dev.jvmm.devices.virtio.VirtioBlk;
import dev.jvmm.devices.virtio.VirtioBlkPci;
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
        out.addAll(List.of(VirtioBlkPci.BASE, IdeBus.TYPE, IdeDevice.TYPE, Piix3Ide.PCI_IDE));
        out.add(PciHostBridge.PCI_HOST_BRIDGE);
        out.add(Piix3IsaBridge.PCI_PIIX3);
        out.addAll(List.of(Piix3Uhci.PCI_UHCI_USB, Piix3Uhci.USB_BUS));
        out.addAll(InKernelDevices.abstractTypes());
        out.addAll(PcMachineType.types());
        out.add(NoneMachineType.TYPE);
        out.add(E1000Device.BASE);
        out.addAll(MemoryBackendTypes.all());
        out.add(PcDimm.MEMORY_DEVICE);
        out.addAll(List.of(VirtioSerial.TYPE, VirtioSerial.BUS, VirtioSerialPci.BASE, VirtioSerialPort.PORT,
                VirtioBalloon.TYPE, VirtioBalloonPci.BASE));
        out.add(VirtioNetPci.BASE);
        return out;
    }

    /** The creatable device types. */
    public static List<DeviceClass> classes() {
        List<DeviceClass> out = new ArrayList<>(List.of(IsaDebugExit.CLASS, IsaDebugcon.CLASS, PvPanic.CLASS));
        out.addAll(List.of(VirtioBlk.CLASS, VirtioBlkPci.CLASS, Piix3Ide.CLASS, AtaDrive.CLASS, AtapiCdrom.CLASS));
        out.addAll(List.of(VirtioSerialPci.CLASS, VirtioSerialPort.SERIAL_PORT_CLASS, VirtioSerialPort.CONSOLE_CLASS,
                VirtioBalloonPci.CLASS, I6300Esb.CLASS, Ib700.CLASS));
        out.add(Piix3Uhci.CLASS);
        out.add(PcDimm.CLASS);
        out.addAll(List.of(VirtioNetPci.DEVICE_CLASS, VirtioNetPci.CLASS));
        out.add(E1000Device.CLASS);
        // the pc board's devices
        out.addAll(List.of(PciHostBridge.I440FX_PCIHOST_CLASS, I440fxHostBridge.CLASS, Piix3IsaBridge.CLASS,
                Piix4Pm.CLASS, CmosRtc.CLASS, Uart16550.ISA_CLASS, I8042.CLASS, Port92.CLASS, Hpet.CLASS));
        out.addAll(InKernelDevices.classes());
        return out;
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
