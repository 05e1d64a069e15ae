package dev.jvmm.devices.virtio;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.Bus;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.OptionRom;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.List;
import java.util.Optional;

/**
 * {@code -device virtio-serial-pci} (alias virtio-serial): a {@link VirtioSerial} behind the modern virtio-pci
 * transport, with its virtio-backend child and, below that, the virtio-serial-bus its ports plug into: "ID.0",
 * or "virtio-serial-bus.0" without id= (QEMU's automatic name, the same for every anonymous controller, so
 * bus= finds the first).
 */
public final class VirtioSerialPci {
    private VirtioSerialPci() {
    }

    /** QEMU's PCI_CLASS_COMMUNICATION_OTHER, what the class property settles on unless it names another. */
    private static final long CLASS_COMMUNICATION_OTHER = 0x0780;

    public static final TypeInfo BASE = VirtioTypes.pciBase("virtio-serial",
            Property.of("vectors", PropType.UINT32, 2L),
            Property.of("class", PropType.UINT32, 0L),
            VirtioTypes.IOEVENTFD);

    public static final TypeInfo TYPE = VirtioTypes.pciGeneric("virtio-serial", VirtioSerial.TYPE.name())
            .category("Input").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, VirtioSerialPci::realize, List.of("virtio-serial"));

    /**
     * QEMU's order: the PCI slot (taken before the proxy realizes), the class and vectors, then the backend's
     * max_ports checks.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        PciBus pci = where.bus().owner(PciBus.class);
        PciPlacement at = PciPlacement.choose(pci, TYPE.name(), p.number("addr"));
        long classCode = p.number("class");
        // QEMU keeps the two older classes it accepts and turns anything else into communication-other
        if (classCode == 0x0380 || classCode == 0x00ff) {
            throw new PropertyException(String.format("property 'class=0x%x' is not supported by jvmm (its"
                    + " virtio-serial-pci is a communication controller, class 0x780)", classCode));
        }
        long vectors = p.number("vectors");
        if (vectors > VirtioSerial.MAX_MSIX_VECTORS) {
            throw new PropertyException("property 'vectors=" + vectors + "' is not supported by jvmm (at most "
                    + VirtioSerial.MAX_MSIX_VECTORS + ")");
        }
        long maxPorts = p.number("max_ports");
        if (maxPorts == 0) {
            throw new PropertyException("Maximum number of serial ports not specified");
        }
        if (maxPorts > VirtioSerial.MAX_SUPPORTED_PORTS) {
            throw new PropertyException("maximum ports supported: " + VirtioSerial.MAX_SUPPORTED_PORTS);
        }
        String busName = where.id() == null ? VirtioSerial.BUS.name() + ".0" : where.id() + ".0";
        VirtioSerial dev = new VirtioSerial(where.idOrEmpty(), busName, (int) maxPorts, p.bool("emergency-write"),
                (int) vectors, ctx.events(), ctx.err());
        Optional<PciBar> rom = OptionRom.load(ctx, p, dev.pciClassCode() >>> 8);
        VirtioPciTransport f = VirtioSerial.pci(ctx.memory(), dev, ctx.msi(), VirtioTypes.ioevents(ctx, p));
        f.addOptionRom(rom);
        pci.add(at.slot(), at.function(), f);

        QomNode node = where.node();
        at.describe(node);
        node.setGetter("class", () -> CLASS_COMMUNICATION_OTHER);
        QomNode backend = VirtioTypes.addBackend(where, p);
        Bus bus = where.model().addBus(backend, busName, VirtioSerial.BUS.name(), dev);
        bus.node().addLink("hotplug-handler", "hotplug-handler", backend::path);
        where.model().setBusHotplugHandler(busName, new VirtioSerialHotplug(where.model()), backend.path());
        // the PCI bus resets the function; its section is the transport's, the device's own state inside
        return new Realized<>(f, () -> { }, f::close);
    }
}
