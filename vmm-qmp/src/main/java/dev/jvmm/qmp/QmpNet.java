package dev.jvmm.qmp;

import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.net.Announcer;
import dev.jvmm.core.net.NetdevTypes;
import dev.jvmm.core.net.RxFilterInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * netdev_add, netdev_del, set_link, query-rx-filter and announce-self with QEMU 7.2's arguments (netdev_add's
 * boxed Netdev union with every backend type's members), errors and events.
 */
public final class QmpNet {
    private QmpNet() {
    }

    /**
     * Checks a netdev given as JSON on the command line (-netdev '{"type":...}') against QEMU's Netdev type,
     * as QEMU's QObject visitor does before any backend sees it; returns QEMU's message, or null when it fits.
     */
    public static String checkNetdevJson(Map<String, Object> netdev) {
        try {
            Schema.check(netdev(), netdev);
            return null;
        } catch (QmpError e) {
            return e.getMessage();
        }
    }

    static void declare(Schema s, NetControl net) {
        s.action("set_link", QType.struct("q_obj_set_link-arg", req("name", QType.STR), req("up", QType.BOOL)),
                a -> net.setLink((String) a.get("name"), (Boolean) a.get("up")));
        s.command("netdev_add", netdev(), Schema.EMPTY, (a, session) -> {
            Map<String, Object> args = new LinkedHashMap<>(a);
            String type = (String) args.remove("type");
            String id = (String) args.remove("id");
            // a tap's fd= may name a descriptor this session passed with getfd
            net.netdevAdd(type, id, args, session == null ? null : session.namedFds());
            return new LinkedHashMap<String, Object>();
        });
        s.action("netdev_del", QType.struct("q_obj_netdev_del-arg", req("id", QType.STR)),
                a -> net.netdevDel((String) a.get("id")));
        QType.Enum rxState = new QType.Enum("RxState", List.of("normal", "none", "all"));
        QType.Struct rxFilterInfo = QType.struct("RxFilterInfo", req("name", QType.STR),
                req("promiscuous", QType.BOOL), req("multicast", rxState), req("unicast", rxState),
                req("vlan", rxState), req("broadcast-allowed", QType.BOOL), req("multicast-overflow", QType.BOOL),
                req("unicast-overflow", QType.BOOL), req("main-mac", QType.STR),
                req("vlan-table", QType.array(QType.INT)), req("unicast-table", QType.array(QType.STR)),
                req("multicast-table", QType.array(QType.STR)));
        s.command("query-rx-filter", QType.struct("q_obj_query-rx-filter-arg", opt("name", QType.STR)),
                QType.array(rxFilterInfo), a -> {
                    List<Object> out = new ArrayList<>();
                    for (RxFilterInfo f : net.queryRxFilter((String) a.get("name"))) {
                        out.add(rxFilter(f));
                    }
                    return out;
                });
        s.event("NIC_RX_FILTER_CHANGED", QType.struct("q_obj_NIC_RX_FILTER_CHANGED-arg", opt("name", QType.STR),
                req("path", QType.STR)));
        s.action("announce-self", QType.struct("AnnounceParameters", req("initial", QType.INT),
                req("max", QType.INT), req("rounds", QType.INT), req("step", QType.INT),
                opt("interfaces", QType.array(QType.STR)), opt("id", QType.STR)), a -> {
                    @SuppressWarnings("unchecked")
                    List<String> ifs = (List<String>) a.get("interfaces");
                    net.announceSelf(new Announcer.Parameters((Long) a.get("initial"), (Long) a.get("max"),
                            (Long) a.get("rounds"), (Long) a.get("step"), ifs == null ? null : List.copyOf(ifs),
                            (String) a.get("id")));
                });
        s.event("FAILOVER_NEGOTIATED", QType.struct("q_obj_FAILOVER_NEGOTIATED-arg",
                req("device-id", QType.STR)));
        s.event("NETDEV_STREAM_CONNECTED", QType.struct("q_obj_NETDEV_STREAM_CONNECTED-arg",
                req("netdev-id", QType.STR), req("addr", socketAddress())));
        s.event("NETDEV_STREAM_DISCONNECTED", QType.struct("q_obj_NETDEV_STREAM_DISCONNECTED-arg",
                req("netdev-id", QType.STR)));
    }

    private static Map<String, Object> rxFilter(RxFilterInfo f) {
        // QEMU writes the reply's members in its QDict's order
        return QDictOrder.of("name", f.name(), "promiscuous", f.promiscuous(), "multicast", f.multicast(),
                "unicast", f.unicast(), "vlan", f.vlan(), "broadcast-allowed", f.broadcastAllowed(),
                "multicast-overflow", f.multicastOverflow(), "unicast-overflow", f.unicastOverflow(),
                "main-mac", f.mainMac(), "vlan-table", f.vlanTable().stream().map(Integer::longValue).toList(),
                "unicast-table", List.copyOf(f.unicastTable()), "multicast-table", List.copyOf(f.multicastTable()));
    }

    /** QEMU 7.2's Netdev: id and type, then the members of the type's *Options struct. */
    static QType.Struct netdev() {
        QType str = QType.STR;
        QType bool = QType.BOOL;
        QType num = QType.INT;
        QType.Array strings = QType.array(QType.struct("String", req("str", str)));
        List<QType.Variant> variants = List.of(
                variant("nic", "NetLegacyNicOptions", opt("netdev", str), opt("macaddr", str), opt("model", str),
                        opt("addr", str), opt("vectors", num)),
                variant("user", "NetdevUserOptions", opt("hostname", str), opt("restrict", bool),
                        opt("ipv4", bool), opt("ipv6", bool), opt("ip", str), opt("net", str), opt("host", str),
                        opt("tftp", str), opt("bootfile", str), opt("dhcpstart", str), opt("dns", str),
                        opt("dnssearch", strings), opt("domainname", str), opt("ipv6-prefix", str),
                        opt("ipv6-prefixlen", num), opt("ipv6-host", str), opt("ipv6-dns", str), opt("smb", str),
                        opt("smbserver", str), opt("hostfwd", strings), opt("guestfwd", strings),
                        opt("tftp-server-name", str)),
                variant("tap", "NetdevTapOptions", opt("ifname", str), opt("fd", str), opt("fds", str),
                        opt("script", str), opt("downscript", str), opt("br", str), opt("helper", str),
                        opt("sndbuf", num), opt("vnet_hdr", bool), opt("vhost", bool), opt("vhostfd", str),
                        opt("vhostfds", str), opt("vhostforce", bool), opt("queues", num), opt("poll-us", num)),
                variant("l2tpv3", "NetdevL2TPv3Options", req("src", str), req("dst", str), opt("srcport", str),
                        opt("dstport", str), opt("ipv6", bool), opt("udp", bool), opt("cookie64", bool),
                        opt("counter", bool), opt("pincounter", bool), opt("txcookie", num), opt("rxcookie", num),
                        req("txsession", num), opt("rxsession", num), opt("offset", num)),
                variant("socket", "NetdevSocketOptions", opt("fd", str), opt("listen", str), opt("connect", str),
                        opt("mcast", str), opt("localaddr", str), opt("udp", str)),
                variant("stream", "NetdevStreamOptions", req("addr", socketAddress()), opt("server", bool)),
                variant("dgram", "NetdevDgramOptions", opt("local", socketAddress()),
                        opt("remote", socketAddress())),
                variant("vde", "NetdevVdeOptions", opt("sock", str), opt("port", num), opt("group", str),
                        opt("mode", num)),
                variant("bridge", "NetdevBridgeOptions", opt("br", str), opt("helper", str)),
                variant("hubport", "NetdevHubPortOptions", req("hubid", num), opt("netdev", str)),
                variant("netmap", "NetdevNetmapOptions", req("ifname", str), opt("devname", str)),
                variant("vhost-user", "NetdevVhostUserOptions", req("chardev", str), opt("vhostforce", bool),
                        opt("queues", num)),
                variant("vhost-vdpa", "NetdevVhostVDPAOptions", opt("vhostdev", str), opt("vhostfd", str),
                        opt("queues", num), opt("x-svq", bool).withFeatures("unstable")),
                new QType.Variant("none", Schema.EMPTY));
        return QType.union("Netdev", List.of(req("id", str),
                req("type", new QType.Enum("NetClientDriver", NetdevTypes.QEMU_DRIVERS))), "type", variants);
    }

    /** QEMU's SocketAddress: a flat union on type (inet, unix, vsock, fd). */
    static QType.Struct socketAddress() {
        QType str = QType.STR;
        QType bool = QType.BOOL;
        return QType.union("SocketAddress", List.of(req("type", new QType.Enum("SocketAddressType",
                List.of("inet", "unix", "vsock", "fd")))), "type", List.of(
                variant("inet", "InetSocketAddress", req("host", str), req("port", str), opt("numeric", bool),
                        opt("to", QType.INT), opt("ipv4", bool), opt("ipv6", bool), opt("keep-alive", bool),
                        opt("mptcp", bool)),
                variant("unix", "UnixSocketAddress", req("path", str), opt("abstract", bool), opt("tight", bool)),
                variant("vsock", "VsockSocketAddress", req("cid", str), req("port", str)),
                variant("fd", "String", req("str", str))));
    }

    private static QType.Variant variant(String tag, String name, QType.Member... members) {
        return new QType.Variant(tag, QType.struct(name, members));
    }
}
