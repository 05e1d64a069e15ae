package dev.jvmm.core.net;

import dev.jvmm.core.net.slirp.UserNetdev;
import dev.jvmm.core.net.socket.DgramNetdev;
import dev.jvmm.core.net.socket.SocketNetdev;
import dev.jvmm.core.net.socket.StreamNetdev;
import dev.jvmm.core.net.tap.TapNetdev;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The netdev backend types jvmm builds, by QEMU type name (QEMU's net_client_init_fun). A type QEMU knows but
 * jvmm lacks answers QEMU's "not compiled into this binary"; a name QEMU does not know, QAPI's enum error.
 */
public final class NetdevTypes {
    /** QEMU 7.2's NetClientDriver values, in QAPI order (what netdev_add's type accepts). */
    public static final List<String> QEMU_DRIVERS = List.of("none", "nic", "user", "tap", "l2tpv3", "socket",
            "stream", "dgram", "vde", "bridge", "hubport", "netmap", "vhost-user", "vhost-vdpa");

    /** The order "-netdev help" lists the backend types in (QEMU 7.2's show_netdevs). */
    private static final List<String> HELP_ORDER = List.of("socket", "stream", "dgram", "hubport", "tap", "user",
            "l2tpv3", "vde", "bridge", "netmap", "vhost-user", "vhost-vdpa");

    private final Map<String, NetdevFactory> factories;

    public NetdevTypes(Map<String, NetdevFactory> factories) {
        this.factories = new LinkedHashMap<>(factories);
    }

    /** The backends jvmm has: one line per type. */
    public static NetdevTypes standard() {
        return new NetdevTypes(Map.of(
                "hubport", HubPort.FACTORY,
                "tap", TapNetdev.FACTORY,
                "user", UserNetdev.FACTORY,
                "socket", SocketNetdev.FACTORY,
                "stream", StreamNetdev.FACTORY,
                "dgram", DgramNetdev.FACTORY));
    }

    public boolean has(String type) {
        return factories.containsKey(type);
    }

    /**
     * The factory for type; QEMU's errors for a type it does not know ("Parameter 'type' does not accept
     * value") and for one it knows without a backend here (nic and none never are netdevs).
     */
    public NetdevFactory factory(String type) throws NetdevException {
        NetdevFactory f = factories.get(type);
        if (f != null) {
            return f;
        }
        if (!QEMU_DRIVERS.contains(type)) {
            throw new NetdevException("Parameter 'type' does not accept value '" + type + "'");
        }
        throw new NetdevException("network backend '" + type + "' is not compiled into this binary");
    }

    /** "-netdev help": QEMU's heading and the types this build has, in QEMU's order. */
    public String help() {
        List<String> lines = new ArrayList<>();
        lines.add("Available netdev backend types:");
        for (String t : HELP_ORDER) {
            if (factories.containsKey(t)) {
                lines.add(t);
            }
        }
        return String.join("\n", lines) + "\n";
    }
}
