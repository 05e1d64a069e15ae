package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.net.HubPort;
import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevArgs;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.qmp.QmpNet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * -netdev, -nic and -net as QEMU 7.2's vl.c and net_init_clients take them: the option texts checked for
 * duplicate ids as QemuOpts does while reading the command line, then, once the machine exists, the netdevs
 * first, the -nic backends next and the legacy -net clients last, each -net without netdev= on hub 0. The
 * NICs they ask for (QEMU's nd_table) come back in order for the board to create where QEMU's pc_nic_init
 * does. Without -nodefaults and any of the three options, the default is "-net nic -net user".
 *
 * @param netdevs    the -netdev texts, in order
 * @param nics       the -nic texts, in order
 * @param nets       the -net texts, in order
 * @param defaultNet whether QEMU's default network applies (no -net, -nic or -netdev, no -nodefaults)
 */
record NetOptions(List<String> netdevs, List<String> nics, List<String> nets, boolean defaultNet) {
    /** QEMU's MAX_NICS: the nd_table slots. */
    static final int MAX_NICS = 8;
    /** The pc machine's default NIC model (mc->default_nic). */
    static final String DEFAULT_NIC = "e1000";
    private static final Set<String> LEGACY_NIC_KEYS = Set.of("netdev", "macaddr", "model", "addr", "vectors");

    /**
     * One NIC to create (QEMU's NICInfo).
     *
     * @param model   the -nic/-net model= (null: the machine's default)
     * @param mac     the address given or the default one assigned in QEMU's order
     * @param netdev  the name of the client it links to (a netdev id, a hub port)
     * @param addr    the PCI address (addr=), or null
     * @param vectors vectors=, or null
     * @param name    the -net nic's id (given or generated), null for -nic: what QEMU's warnings call it
     */
    record Nic(String model, MacAddress mac, String netdev, String addr, String vectors, String name) {
        /** The model to create: the default when none was given, "virtio" as virtio-net-pci (pci_nic_init_nofail). */
        String device() {
            String m = model != null ? model : DEFAULT_NIC;
            return m.equals("virtio") ? "virtio-net-pci" : m;
        }

        /** The device's properties (qdev_set_nic_properties), plus addr= where given. */
        Map<String, String> properties() {
            Map<String, String> p = new LinkedHashMap<>();
            if (addr != null) {
                p.put("addr", addr);
            }
            p.put("mac", mac.toString());
            if (netdev != null) {
                p.put("netdev", netdev);
            }
            if (vectors != null) {
                p.put("vectors", vectors);
            }
            return p;
        }

        /** net_check_clients's warning for a NIC a machine without NICs (none) did not make. */
        String notCreatedWarning() {
            return "requested NIC (" + (name != null ? name : "anonymous") + ", model "
                    + (model != null ? model : "unspecified") + ") was not created (not supported by this machine?)";
        }
    }

    /** Reads the options, refusing duplicate ids within each option's group as QemuOpts does. */
    static NetOptions parse(QemuCommandLine cl) {
        checkIds("-netdev", "netdev", cl.netdev);
        checkIds("-nic", "nic", cl.nic);
        checkIds("-net", "net", cl.net);
        boolean none = cl.netdev.isEmpty() && cl.nic.isEmpty() && cl.net.isEmpty();
        return new NetOptions(List.copyOf(cl.netdev), List.copyOf(cl.nic), List.copyOf(cl.net),
                none && !cl.nodefaults);
    }

    private static void checkIds(String option, String group, List<String> values) {
        Set<String> seen = new HashSet<>();
        for (String v : values) {
            String id;
            try {
                id = NetdevArgs.parse(v).id();
            } catch (OptionException e) {
                throw new OptionException(option + " " + v, e.getMessage());
            }
            if (id != null && !seen.add(id)) {
                throw new OptionException(option + " " + v, "Duplicate ID '" + id + "' for " + group);
            }
        }
    }

    /** Whether an option asks for "-netdev help" (any part "help" or "?"). */
    static boolean netdevHelp(String text) {
        for (String p : QemuOpts.splitCommas(text)) {
            if (p.equals("help") || p.equals("?") || p.equals("type=help") || p.equals("type=?")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The options with QEMU's default network where it applies; the default NIC comes only where this build
     * has both its model and the user backend (hasDefault), as QEMU's default is "-net nic -net user".
     */
    List<String> legacyNets(boolean hasDefault) {
        if (defaultNet && hasDefault) {
            return List.of("nic", "user");
        }
        return nets;
    }

    /**
     * net_init_clients: every -netdev, then every -nic (its backend and NIC slot), then every -net; returns
     * the NICs to create, in slot order. Errors name the option, as QEMU's do.
     */
    List<Nic> build(NetClients net, NetdevContext ctx, boolean hasDefault) {
        for (String n : netdevs) {
            NetdevArgs.Parsed p = NetdevArgs.parse(n);
            String option = "-netdev " + n;
            if (p.json()) {
                Map<String, Object> whole = new LinkedHashMap<>(p.args());
                if (p.type() != null) {
                    whole.put("type", p.type());
                }
                if (p.id() != null) {
                    whole.put("id", p.id());
                }
                String bad = QmpNet.checkNetdevJson(whole);
                require(option, bad == null, bad);
            }
            require(option, p.id() != null, "Parameter 'id' is missing");
            require(option, p.type() != null, "Parameter 'type' is missing");
            create(option, net, ctx, p.options(), true, p);
        }
        List<Nic> out = new ArrayList<>();
        int[] ids = {0};
        for (String n : nics) {
            nic(n, net, ctx, out, ids);
        }
        for (String n : legacyNets(hasDefault)) {
            legacy(n, net, ctx, out, ids);
        }
        return out;
    }

    /** net_param_nic: a netdev of the type (user when none), id given or generated, and its NIC slot. */
    private static void nic(String text, NetClients net, NetdevContext ctx, List<Nic> out, int[] ids) {
        String option = "-nic " + text;
        NetdevArgs.Parsed p = NetdevArgs.parse(text);
        if ("none".equals(p.type())) {
            return;
        }
        require(option, out.size() < MAX_NICS, "no more on-board/default NIC slots available");
        Map<String, Object> args = new LinkedHashMap<>(p.args());
        String model = text(args.remove("model"));
        String id = p.id() != null ? p.id() : generatedId(ids);
        Object macText = args.remove("mac");
        MacAddress mac = null;
        if (macText != null) {
            mac = MacAddress.parse(macText.toString());
            require(option, mac != null, "invalid syntax for ethernet address");
            require(option, !mac.isMulticast(), "NIC cannot have multicast MAC address");
        }
        mac = net.defaultMacIfUnset(mac);
        create(option, net, ctx, new NetdevOptions(p.type() != null ? p.type() : "user", id, args), true, p);
        out.add(new Nic(model, mac, id, null, null, null));
    }

    /** net_client_init for -net: "nic" takes a slot, other types a backend; both on hub 0 unless netdev=. */
    private static void legacy(String text, NetClients net, NetdevContext ctx, List<Nic> out, int[] ids) {
        String option = "-net " + text;
        NetdevArgs.Parsed p = NetdevArgs.parse(text);
        String type = p.type();
        require(option, type != null, "Parameter 'type' is missing");
        if (type.equals("none")) {
            return;
        }
        if (type.equals("hubport")) {
            throw new OptionException(option, "network backend 'hubport' is only supported with -netdev/-nic");
        }
        if (type.equals("nic")) {
            for (String k : p.args().keySet()) {
                require(option, LEGACY_NIC_KEYS.contains(k), "Invalid parameter '" + k + "'");
            }
            require(option, out.size() < MAX_NICS, "Too Many NICs");
            Object netdev = p.args().get("netdev");
            String peer;
            if (netdev != null) {
                List<NetClient> found = net.named(netdev.toString(), false);
                require(option, !found.isEmpty(), "netdev '" + netdev + "' not found");
                peer = netdev.toString();
            } else {
                peer = net.addHubPort(0, null).name();
            }
            Object macText = p.args().get("macaddr");
            MacAddress mac;
            if (macText != null) {
                mac = MacAddress.parse(macText.toString());
                require(option, mac != null, "invalid syntax for ethernet address");
                require(option, !mac.isMulticast(), "NIC cannot have multicast MAC address (odd 1st byte)");
            } else {
                mac = null;
            }
            mac = net.defaultMacIfUnset(mac);
            Object vectors = p.args().get("vectors");
            if (vectors != null) {
                long v;
                try {
                    v = QemuOpts.parseNumber(vectors.toString());
                } catch (RuntimeException e) {
                    throw new OptionException(option, "Parameter 'vectors' expects a uint64 value");
                }
                require(option, v <= 0x7ffffff, "invalid # of vectors: " + v);
            }
            out.add(new Nic(text(p.args().get("model")), mac, peer, text(p.args().get("addr")),
                    vectors == null ? null : vectors.toString(), p.id() != null ? p.id() : generatedId(ids)));
            return;
        }
        String id = p.id() != null ? p.id() : generatedId(ids);
        try {
            net.types().factory(type);
        } catch (NetdevException e) {
            throw new OptionException(option, e.getMessage());
        }
        HubPort port = net.addHubPort(0, null);
        Netdev nd = create(option, net, ctx, new NetdevOptions(type, id, p.args()), false, p);
        NetClient.connect(port, nd.queues().get(0));
    }

    private static Netdev create(String option, NetClients net, NetdevContext ctx, NetdevOptions opts,
            boolean isNetdev, NetdevArgs.Parsed text) {
        try {
            if (isNetdev) {
                return net.create(opts, ctx, true);
            }
            Netdev nd = net.types().factory(opts.type()).create(opts, ctx);
            net.addBackend(nd, false);
            return nd;
        } catch (NetdevException e) {
            throw new OptionException(option, text.message(e.getMessage()));
        }
    }

    /**
     * QEMU's id_generate(ID_NET): "#net", a counter and two random digits, for a -nic or -net without id=.
     * The counter is per command line: the ids only need to differ from each other.
     */
    private static String generatedId(int[] counter) {
        return "#net" + counter[0]++ + String.format("%02d", ThreadLocalRandom.current().nextInt(100));
    }

    /** A value as text (a JSON number or boolean included), or null. */
    private static String text(Object v) {
        return v == null ? null : v.toString();
    }

    private static void require(String option, boolean ok, String message) {
        if (!ok) {
            throw new OptionException(option, message);
        }
    }
}
