package dev.jvmm.core.net;

import java.nio.ByteBuffer;
import java.util.Set;

/**
 * QEMU's NetHubPort (net/hub.c) and the "hubport" netdev type (net_init_hubport): one port of a {@link Hub}.
 * What its peer sends it goes to the hub; what the hub forwards it sends to its peer.
 */
public final class HubPort extends NetClient {
    /** -netdev hubport,id=ID,hubid=N[,netdev=PEER]: a port of hub N, optionally linked to netdev PEER. */
    public static final NetdevFactory FACTORY = HubPort::create;

    private static final Set<String> MEMBERS = Set.of("hubid", "netdev");

    private final Hub hub;

    HubPort(Hub hub, String name) {
        super(name, "hubport", NetClientKind.HUBPORT, 0);
        this.hub = hub;
    }

    public Hub hub() {
        return hub;
    }

    private static Netdev create(NetdevOptions opts, NetdevContext ctx) throws NetdevException {
        opts.requireOnly(MEMBERS);
        if (!opts.has("hubid")) {
            throw new NetdevException("Parameter 'hubid' is missing");
        }
        long hubId = opts.number("hubid", 0, Integer.MAX_VALUE, "an int64 value");
        NetClients clients = ctx.net();
        NetClient peer = null;
        if (opts.has("netdev")) {
            String name = opts.string("netdev").orElseThrow();
            peer = clients.named(name, false).stream().findFirst()
                    .orElseThrow(() -> new NetdevException("netdev '" + name + "' not found"));
            if (peer.peer() != null) {
                // QEMU asserts here; jvmm refuses, as it does for a NIC's netdev= that is taken
                throw new NetdevException("netdev '" + name + "' is already in use");
            }
        }
        HubPort port = clients.hub((int) hubId).newPort(opts.id(), peer);
        return new Netdev(opts.id(), "hubport", java.util.List.of(port));
    }

    /** QEMU 7.2 sets no info string for a hub port: "info network" prints "type=hubport," and nothing after. */
    @Override
    public String infoString() {
        return "";
    }

    @Override
    protected int receive(ByteBuffer frame) {
        int len = frame.remaining();
        hub.forward(this, frame);
        return len;
    }

    @Override
    protected void cleanup() {
        hub.removePort(this);
    }
}
