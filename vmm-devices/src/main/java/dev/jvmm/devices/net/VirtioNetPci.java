package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.OptionRom;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.virtio.VirtioPciTransport;
import dev.jvmm.devices.virtio.VirtioTypes;

import java.util.List;
import java.util.Optional;

import static dev.jvmm.core.qom.Property.fixed;
import static dev.jvmm.devices.net.VirtioNet.*;

/**
 * QEMU 7.2's virtio-net-pci (alias virtio-net): the PCI function of a {@link VirtioNet}, modern-only
 * (1af4:1041, class 0x020000), one MSI-X vector per queue plus one for configuration changes by default.
 * Its virtio-net-device child's properties are its own. jvmm's virtio-net-pci has no default option ROM
 * (QEMU's efi-virtio.rom): a romfile must be named to get one.
 */
public final class VirtioNetPci {
    private VirtioNetPci() {
    }

    /** qdev's "mac" property type (QEMU's qdev_prop_macaddr). */
    public static final PropType MACADDR = new PropType("macaddr", "str",
            "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", PropType.Kind.STR, List.of());
    /** qdev's "netdev" property type (QEMU's qdev_prop_netdev). */
    public static final PropType NETDEV = new PropType("netdev", "str", "ID of a netdev to use as a backend",
            PropType.Kind.STR, List.of());

    /** vectors' default: QEMU then gives two vectors per queue pair, one for control and one for config. */
    public static final long VECTORS_UNSPECIFIED = 0xffff_ffffL;
    /** The most MSI-X vectors jvmm's transport has room for in its MSI-X BAR. */
    public static final int MAX_VECTORS = 128;

    /** The feature properties, each its bit of host_features. */
    private record FeatureProp(String name, int bit) {
    }

    private static final List<FeatureProp> FEATURE_PROPS = List.of(
            new FeatureProp("csum", VIRTIO_NET_F_CSUM), new FeatureProp("guest_csum", VIRTIO_NET_F_GUEST_CSUM),
            new FeatureProp("gso", VIRTIO_NET_F_GSO), new FeatureProp("guest_tso4", VIRTIO_NET_F_GUEST_TSO4),
            new FeatureProp("guest_tso6", VIRTIO_NET_F_GUEST_TSO6),
            new FeatureProp("guest_ecn", VIRTIO_NET_F_GUEST_ECN),
            new FeatureProp("guest_ufo", VIRTIO_NET_F_GUEST_UFO),
            new FeatureProp("guest_announce", VIRTIO_NET_F_GUEST_ANNOUNCE),
            new FeatureProp("host_tso4", VIRTIO_NET_F_HOST_TSO4), new FeatureProp("host_tso6", VIRTIO_NET_F_HOST_TSO6),
            new FeatureProp("host_ecn", VIRTIO_NET_F_HOST_ECN), new FeatureProp("host_ufo", VIRTIO_NET_F_HOST_UFO),
            new FeatureProp("mrg_rxbuf", VIRTIO_NET_F_MRG_RXBUF), new FeatureProp("status", VIRTIO_NET_F_STATUS),
            new FeatureProp("ctrl_vq", VIRTIO_NET_F_CTRL_VQ), new FeatureProp("ctrl_rx", VIRTIO_NET_F_CTRL_RX),
            new FeatureProp("ctrl_vlan", VIRTIO_NET_F_CTRL_VLAN),
            new FeatureProp("ctrl_rx_extra", VIRTIO_NET_F_CTRL_RX_EXTRA),
            new FeatureProp("ctrl_mac_addr", VIRTIO_NET_F_CTRL_MAC_ADDR),
            new FeatureProp("ctrl_guest_offloads", VIRTIO_NET_F_CTRL_GUEST_OFFLOADS),
            new FeatureProp("mq", VIRTIO_NET_F_MQ));

    private static Property bit(String name, boolean def) {
        return Property.of(name, PropType.BIT, def);
    }

    /**
     * QEMU 7.2's virtio-net-device, its own properties in the order QEMU lists them. jvmm honours the
     * features, mac, netdev, queue sizes, host_mtu, speed and duplex; tx, x-txtimer, x-txburst, rsc_interval,
     * x-mtu-bypass-backend and bootindex change nothing jvmm does (it transmits at once, has no vhost and boots
     * without option ROMs of its own). RSS, hash reporting, RSC and failover are not offered.
     */
    public static final TypeInfo DEVICE_TYPE = TypeInfo.type("virtio-net-device", "virtio-device").category("Network")
            .props(Property.of("mac", MACADDR),
                    bit("gso", true),
                    Property.of("x-txtimer", PropType.UINT32, 150_000L),
                    bit("mq", false),
                    bit("mrg_rxbuf", true),
                    Property.of("x-txburst", PropType.INT32, 256L),
                    Property.of("host_mtu", PropType.UINT16, 0L),
                    Property.of("tx", PropType.STR),
                    fixed("rss", PropType.BIT, false),
                    bit("status", true),
                    fixed("failover", PropType.BOOL, false),
                    bit("ctrl_mac_addr", true),
                    Property.of("tx_queue_size", PropType.UINT16, (long) VirtioNetOptions.DEFAULT_QUEUE_SIZE),
                    bit("guest_tso4", true),
                    fixed("hash", PropType.BIT, false),
                    bit("host_tso6", true),
                    bit("ctrl_guest_offloads", true),
                    bit("guest_ufo", true),
                    bit("ctrl_vq", true),
                    bit("guest_ecn", true),
                    bit("host_ufo", true),
                    bit("host_ecn", true),
                    fixed("guest_rsc_ext", PropType.BIT, false),
                    Property.of("duplex", PropType.STR),
                    Property.of("rsc_interval", PropType.UINT32, 300_000L),
                    bit("guest_announce", true),
                    Property.of("netdev", NETDEV),
                    bit("host_tso4", true),
                    Property.of("x-mtu-bypass-backend", PropType.BOOL, true),
                    bit("ctrl_rx_extra", true),
                    bit("guest_csum", true),
                    Property.of("rx_queue_size", PropType.UINT16, (long) VirtioNetOptions.DEFAULT_QUEUE_SIZE),
                    bit("ctrl_vlan", true),
                    bit("guest_tso6", true),
                    Property.of("speed", PropType.INT32, (long) SPEED_UNKNOWN),
                    bit("csum", true),
                    bit("ctrl_rx", true),
                    Property.of("bootindex", PropType.INT32))
            .build();

    /** Only its PCI proxy creates one; on its own it finds no virtio bus, as in QEMU without a proxy. */
    public static final DeviceClass DEVICE_CLASS = new DeviceClass(DEVICE_TYPE, (ctx, p, where) -> {
        throw new PropertyException("No 'virtio-bus' bus found for device '" + DEVICE_TYPE.name() + "'");
    });

    public static final TypeInfo BASE = VirtioTypes.pciBase("virtio-net",
            Property.of("vectors", PropType.UINT32, VECTORS_UNSPECIFIED),
            VirtioTypes.IOEVENTFD);

    public static final TypeInfo TYPE = VirtioTypes.pciGeneric("virtio-net", DEVICE_TYPE.name())
            .category("Network").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, VirtioNetPci::realize, List.of("virtio-net"));

    /**
     * In QEMU's order: mac and netdev (checked when the properties are set), the PCI slot, then the device's
     * own checks. The NIC's clients join ctx.net() named "ID" or "virtio-net-pci.N"; a refusal leaves the
     * netdev free.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        MacAddress mac = null;
        Optional<String> macText = p.str("mac");
        if (macText.isPresent()) {
            mac = MacAddress.parse(macText.get());
            if (mac == null) {
                throw new PropertyException("Property '" + DEVICE_TYPE.name() + ".mac' doesn't take value '"
                        + macText.get() + "'");
            }
        }
        NetClients net;
        try {
            net = ctx.net();
        } catch (UnsupportedOperationException e) {
            throw new PropertyException(e.getMessage());
        }
        List<NetClient> peers = List.of();
        if (p.str("netdev").isPresent()) {
            try {
                peers = net.claimNetdev(p.str("netdev").get(), DEVICE_TYPE.name() + ".netdev");
            } catch (NetdevException e) {
                throw new PropertyException(e.getMessage());
            }
        }
        PciPlacement at = PciPlacement.choose(ctx.pci(), TYPE.name(), p.number("addr"));
        int duplex = DUPLEX_UNKNOWN;
        long features = 1L << VIRTIO_NET_F_MAC;
        for (FeatureProp f : FEATURE_PROPS) {
            if (p.bool(f.name())) {
                features |= 1L << f.bit();
            }
        }
        if (p.number("host_mtu") != 0) {
            features |= 1L << VIRTIO_NET_F_MTU;
        }
        if (p.str("duplex").isPresent()) {
            String d = p.str("duplex").get();
            if (d.equals("half")) {
                duplex = DUPLEX_HALF;
            } else if (d.equals("full")) {
                duplex = DUPLEX_FULL;
            } else {
                throw new PropertyException("'duplex' must be 'half' or 'full'");
            }
            features |= 1L << VIRTIO_NET_F_SPEED_DUPLEX;
        }
        int speed = p.int32("speed");
        if (speed < SPEED_UNKNOWN) {
            throw new PropertyException("'speed' must be between 0 and INT_MAX");
        }
        if (speed >= 0) {
            features |= 1L << VIRTIO_NET_F_SPEED_DUPLEX;
        }
        int rxSize = p.int32("rx_queue_size");
        if (rxSize < VirtioNetOptions.DEFAULT_QUEUE_SIZE || rxSize > VIRTIO_QUEUE_MAX || Integer.bitCount(rxSize) != 1) {
            throw new PropertyException("Invalid rx_queue_size (= " + rxSize + "), must be a power of 2 between 256"
                    + " and 1024.");
        }
        int txSize = p.int32("tx_queue_size");
        if (txSize < VirtioNetOptions.DEFAULT_QUEUE_SIZE || txSize > VIRTIO_QUEUE_MAX || Integer.bitCount(txSize) != 1) {
            throw new PropertyException("Invalid tx_queue_size (= " + txSize + "), must be a power of 2 between 256"
                    + " and 1024");
        }
        int pairs = Math.max(peers.size(), 1);
        long vectors = p.number("vectors");
        if (vectors == VECTORS_UNSPECIFIED) {
            vectors = 2L * pairs + 2;
        }
        if (vectors > MAX_VECTORS) {
            throw new PropertyException("jvmm's virtio-net-pci has room for " + MAX_VECTORS + " MSI-X vectors:"
                    + " vectors=" + vectors + " is not supported");
        }
        Optional<PciBar> rom = OptionRom.load(ctx, p, PCI_CLASS_NETWORK_ETHERNET >>> 8);
        String backendPath = where.node().path() + "/virtio-backend";
        MacAddress configured = net.defaultMacIfUnset(mac);
        // QEMU caps the transmit queue at 256 for every backend but vhost-user and vDPA
        VirtioNetOptions opts = new VirtioNetOptions(where.idOrEmpty(), backendPath, configured, features, rxSize,
                Math.min(txSize, VirtioNetOptions.DEFAULT_QUEUE_SIZE), p.int32("host_mtu"), speed, duplex);
        VirtioNet dev;
        try {
            dev = new VirtioNet(opts, (int) vectors, peers, net, ctx.events());
        } catch (IllegalArgumentException e) {
            net.freeMac(configured);
            throw new PropertyException(e.getMessage());
        }
        VirtioPciTransport f;
        try {
            f = new VirtioPciTransport(ctx.memory(), dev, ctx.msi(), VirtioTypes.ioevents(ctx, p), opts.id());
        } catch (RuntimeException e) {
            dev.detach(net);
            net.freeMac(configured);
            throw e;
        }
        f.addOptionRom(rom);
        ctx.pci().add(at.slot(), at.function(), f);
        describe(where, p, at, opts, (int) vectors);
        return new Realized<>(f, () -> { }, () -> {
            f.close();
            dev.detach(net);
            net.freeMac(configured);
        });
    }

    /** The values QEMU shows once the device is realized, where they differ from the settled properties. */
    private static void describe(Placement where, PropertyValues p, PciPlacement at, VirtioNetOptions opts,
                                 int vectors) {
        QomNode n = where.node();
        at.describe(n);
        n.addConstant("vectors", "uint32", (long) vectors);
        QomNode backend = VirtioTypes.addBackend(where, p);
        for (QomNode x : List.of(n, backend)) {
            x.addConstant("mac", "str", opts.mac().toString());
            x.addConstant("tx_queue_size", "uint16", (long) opts.txQueueSize());
        }
        n.addConstant("bootindex", "int32", p.get("bootindex").orElse(-1L));
    }
}
