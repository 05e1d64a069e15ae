package dev.jvmm.core.net;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The network as QEMU 7.2 describes it in words: HMP "info network" (hmp_info_network, net_hub_info,
 * print_net_client) and the start-up warnings of net_check_clients and net_hub_check_clients.
 */
public final class NetworkReport {
    /** The backend types net_hub_check_clients counts as host networks. */
    private static final Set<String> HOST_NETWORK = Set.of("user", "tap", "socket", "stream", "dgram", "vde",
            "vhost-user");

    private NetworkReport() {
    }

    /** "info network", lines ending in '\n': the hubs and their ports, then the other clients. */
    public static String infoNetwork(NetClients net) {
        StringBuilder sb = new StringBuilder();
        for (Hub hub : net.hubs()) {
            sb.append("hub ").append(hub.id()).append('\n');
            for (HubPort port : hub.ports()) {
                sb.append(" \\ ").append(port.name());
                NetClient peer = port.peer();
                if (peer != null) {
                    sb.append(": ");
                    client(sb, peer);
                } else {
                    sb.append('\n');
                }
            }
        }
        for (NetClient c : net.all()) {
            NetClient peer = c.peer();
            if (c.kind() == NetClientKind.HUBPORT || (peer != null && peer.kind() == NetClientKind.HUBPORT)) {
                continue; // printed with its hub
            }
            if (peer == null || c.kind() == NetClientKind.NIC) {
                client(sb, c);
            }
            if (peer != null && c.kind() == NetClientKind.NIC) {
                sb.append(" \\ ");
                client(sb, peer);
            }
        }
        return sb.toString();
    }

    private static void client(StringBuilder sb, NetClient c) {
        sb.append(c.name()).append(": index=").append(c.queueIndex()).append(",type=").append(type(c))
                .append(',').append(c.infoString()).append('\n');
    }

    /** QEMU's NetClientDriver name of a client: "nic", "hubport" or the backend's type. */
    public static String type(NetClient c) {
        return switch (c.kind()) {
            case NIC -> "nic";
            case HUBPORT -> "hubport";
            case NETDEV -> c.model();
        };
    }

    /**
     * net_check_clients's warnings, without QEMU's "warning: " prefix: each hub's ports without a peer, a hub
     * with a host network and no NIC or the reverse, then every client without a peer.
     */
    public static List<String> checkClients(NetClients net) {
        List<String> out = new ArrayList<>();
        for (Hub hub : net.hubs()) {
            boolean nic = false;
            boolean host = false;
            for (HubPort port : hub.ports()) {
                NetClient peer = port.peer();
                if (peer == null) {
                    out.add("hub port " + port.name() + " has no peer");
                    continue;
                }
                if (peer.kind() == NetClientKind.NIC) {
                    nic = true;
                } else if (peer.kind() == NetClientKind.NETDEV && HOST_NETWORK.contains(peer.model())) {
                    host = true;
                }
            }
            if (host && !nic) {
                out.add("hub " + hub.id() + " with no nics");
            }
            if (nic && !host) {
                out.add("hub " + hub.id() + " is not connected to host network");
            }
        }
        for (NetClient c : net.all()) {
            if (c.peer() == null) {
                out.add((c.kind() == NetClientKind.NIC ? "nic " : "netdev ") + c.name() + " has no peer");
            }
        }
        return out;
    }
}
