package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.TypeInfo;
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
 * QEMU 7.2's {@code -device e1000} (hw/net/e1000.c, type e1000 under the abstract e1000-base): an {@link E1000}
 * on pci.0, its NIC client joined to the netdev named by netdev=, its option ROM from romfile (QEMU's default
 * efi-e1000.rom, found by the machine's firmware search).
 */
public final class E1000Device {
    private E1000Device() {
    }

    /** QEMU's NIC model name, also the NIC client's model and its name stem ("e1000.N"). */
    public static final String MODEL = "e1000";
    /** The option ROM QEMU's e1000 class names when romfile is not given. */
    public static final String DEFAULT_ROMFILE = "efi-e1000.rom";

    /** QEMU's qdev "macaddr" property type (DEFINE_NIC_PROPERTIES). */
    static final PropType MACADDR = new PropType("macaddr", "str",
            "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", PropType.Kind.STR, List.of());
    /** QEMU's qdev "netdev" property type. */
    static final PropType NETDEV = new PropType("netdev", "str", "ID of a netdev to use as a backend",
            PropType.Kind.STR, List.of());

    /** The abstract e1000-base: honours pci-device's romfile. */
    public static final TypeInfo BASE = TypeInfo.abstractType("e1000-base", "pci-device")
            .implementing("conventional-pci-device")
            .props(Property.of("romfile", PropType.STR))
            .build();

    public static final TypeInfo TYPE = TypeInfo.type(MODEL, BASE.name()).category("Network")
            .description("Intel Gigabit Ethernet")
            .props(Property.of("init-vet", PropType.BIT, true),
                    Property.of("mitigation", PropType.BIT, true),
                    Property.of("netdev", NETDEV),
                    Property.of("autonegotiation", PropType.BIT, true),
                    Property.of("extra_mac_registers", PropType.BIT, true),
                    Property.of("migrate_tso_props", PropType.BIT, true),
                    Property.of("mac", MACADDR),
                    Property.of("bootindex", PropType.INT32))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, E1000Device::realize,
            List.of("e1000-82540em"));

    /**
     * QEMU's order: the properties (mac, netdev: a missing or taken netdev is the property's error), the PCI
     * slot, the option ROM, then the device and its NIC client, named by id or "e1000.N".
     */
    static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where) throws PropertyException {
        NetClients net = netOf(ctx);
        MacAddress mac = null;
        Optional<String> macText = p.str("mac");
        if (macText.isPresent()) {
            mac = MacAddress.parse(macText.get());
            if (mac == null) {
                throw new PropertyException("Property '" + MODEL + ".mac' doesn't take value '" + macText.get() + "'");
            }
        }
        List<NetClient> queues = List.of();
        Optional<String> netdev = p.str("netdev");
        if (netdev.isPresent()) {
            if (net == null) {
                throw new PropertyException("Property '" + MODEL + ".netdev' can't find value '" + netdev.get() + "'");
            }
            try {
                queues = net.claimNetdev(netdev.get(), MODEL + ".netdev");
            } catch (NetdevException e) {
                throw new PropertyException(e.getMessage());
            }
        }
        PciBus pci = where.bus().owner(PciBus.class);
        PciPlacement at = PciPlacement.choose(pci, TYPE.name(), p.number("addr"));
        String romfile = p.isSet("romfile") ? p.str("romfile").orElse("") : DEFAULT_ROMFILE;
        Optional<PciBar> rom = OptionRom.load(ctx, romfile, p.number("romsize"), p.number("rombar"),
                E1000.CLASS_ETHERNET >>> 8);
        if (net != null) {
            mac = net.defaultMacIfUnset(mac);
        } else if (mac == null) {
            mac = new MacAddress(NetClients.DEFAULT_MAC_BASE | 0x56);
        }
        String name = net != null ? net.nicName(MODEL, where.id()) : (where.id() != null ? where.id() : MODEL + ".0");
        E1000.Flags flags = new E1000.Flags(p.bool("autonegotiation"), p.bool("mitigation"),
                p.bool("extra_mac_registers"), p.bool("migrate_tso_props"), p.bool("init-vet"));
        E1000 dev = new E1000(ctx.memory(), ctx.clock(), mac, flags, name, where.idOrEmpty(), rom);
        if (!queues.isEmpty()) {
            NetClient.connect(dev.nic(), queues.get(0));
        }
        if (net != null) {
            net.add(dev.nic());
        }
        pci.add(at.slot(), at.function(), dev);
        at.describe(where.node());
        where.node().addConstant("bootindex", "int32", p.get("bootindex").orElse(-1L));
        NetClients owner = net;
        MacAddress configured = mac;
        return new Realized<>(dev, () -> { }, () -> {
            dev.close();
            if (owner != null) {
                owner.remove(List.of(dev.nic()));
                owner.freeMac(configured);
            }
        });
    }

    private static NetClients netOf(DeviceContext ctx) {
        try {
            return ctx.net();
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }
}
