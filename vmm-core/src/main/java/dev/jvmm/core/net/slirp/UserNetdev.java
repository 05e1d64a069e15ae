package dev.jvmm.core.net.slirp;

import com.sun.jna.Memory;
import dev.jvmm.core.net.HostForwards;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.net.NetdevOptions;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * -netdev user: QEMU's user-mode network stack (net/slirp.c) on libslirp 4.7. The guest sees a router at
 * 10.0.2.2 with DHCP, DNS at 10.0.2.3 and TCP/UDP connections made on its behalf from host sockets; hostfwd=
 * forwards host ports in, guestfwd=...-cmd: connects a guest address to a command.
 */
public final class UserNetdev extends NetClient implements HostForwards {
    public static final NetdevFactory FACTORY = UserNetdev::create;

    private final SlirpSettings settings;
    private final SlirpThread slirp;

    private UserNetdev(String id, SlirpSettings settings) {
        super(id, "user", NetClientKind.NETDEV, 0);
        this.settings = settings;
        this.slirp = new SlirpThread(new SlirpThread.Output() {
            @Override
            public void frameToGuest(ByteBuffer frame) {
                send(frame);
            }

            @Override
            public void handoffDrained() {
                flushQueued();
            }
        });
    }

    private static Netdev create(NetdevOptions opts, NetdevContext ctx) throws NetdevException {
        SlirpSettings settings = SlirpSettings.parse(opts);
        if (LibSlirp.loadError() != null) {
            throw new NetdevException("user-mode networking needs libslirp (" + LibSlirp.LIBRARY + "): "
                    + LibSlirp.loadError().getMessage());
        }
        UserNetdev u = new UserNetdev(opts.id(), settings);
        if (!u.slirp.create(settings)) {
            throw new NetdevException("libslirp refused the user-mode network configuration");
        }
        try {
            for (String[] fwd : settings.forwardsInQemuOrder()) {
                if (fwd[0].equals("hostfwd")) {
                    u.addForwardHere(fwd[1]);
                } else {
                    u.addGuestForwardHere(fwd[1]);
                }
            }
        } catch (NetdevException e) {
            u.slirp.stop();
            throw e;
        }
        u.slirp.start(opts.id());
        return new Netdev(opts.id(), "user", List.of(u));
    }

    @Override
    public String infoString() {
        return settings.infoString();
    }

    @Override
    protected int receive(ByteBuffer frame) {
        return slirp.handOff(frame) ? frame.remaining() : 0;
    }

    @Override
    public void addHostForward(String rule) throws NetdevException {
        HostFwdRule r = HostFwdRule.parse(rule);
        int err;
        try {
            err = slirp.call(() -> add(r));
        } catch (NetdevException e) {
            throw e;
        } catch (Exception e) {
            throw new NetdevException(e.getMessage(), e);
        }
        if (err < 0) {
            throw new NetdevException("Could not set up host forwarding rule '" + rule + "'");
        }
    }

    /** hmp_hostfwd_remove's outcome: "host forwarding rule for RULE removed" / "not found", "invalid format". */
    @Override
    public String removeHostForward(String rule) throws NetdevException {
        HostFwdRule r = HostFwdRule.parseRemoval(rule);
        if (r == null) {
            return "invalid format";
        }
        int err;
        try {
            err = slirp.call(() -> LibSlirp.slirp_remove_hostfwd(slirp.slirp(), r.udp() ? 1 : 0,
                    Integer.reverseBytes(r.hostAddr()), r.hostPort()));
        } catch (Exception e) {
            throw new NetdevException(e.getMessage(), e);
        }
        return "host forwarding rule for " + rule + " " + (err != 0 ? "not found" : "removed");
    }

    private void addForwardHere(String rule) throws NetdevException {
        HostFwdRule r = HostFwdRule.parse(rule);
        if (add(r) < 0) {
            throw new NetdevException("Could not set up host forwarding rule '" + rule + "'");
        }
    }

    /** struct in_addr by value is the address's network-order bytes read as a little-endian int. */
    private int add(HostFwdRule r) {
        return LibSlirp.slirp_add_hostfwd(slirp.slirp(), r.udp() ? 1 : 0, Integer.reverseBytes(r.hostAddr()),
                r.hostPort(), Integer.reverseBytes(r.guestAddr()), r.guestPort());
    }

    /**
     * guestfwd= "[tcp]:[server]:port-cmd:COMMAND" as QEMU's slirp_guestfwd; the chardev form needs QEMU's
     * implicit chardev creation, which this backend refuses with QEMU's message for a device it cannot open.
     */
    private void addGuestForwardHere(String rule) throws NetdevException {
        String rest = rule;
        int i = rest.indexOf(':');
        if (i < 0) {
            throw invalidGuestFwd(rule);
        }
        String proto = rest.substring(0, i);
        if (!proto.equals("tcp") && !proto.isEmpty()) {
            throw invalidGuestFwd(rule);
        }
        rest = rest.substring(i + 1);
        i = rest.indexOf(':');
        if (i < 0) {
            throw invalidGuestFwd(rule);
        }
        String server = rest.substring(0, i);
        int serverAddr = 0;
        if (!server.isEmpty()) {
            Integer a = Inet.aton(server.length() > 127 ? server.substring(0, 127) : server);
            if (a == null) {
                throw invalidGuestFwd(rule);
            }
            serverAddr = a;
        }
        rest = rest.substring(i + 1);
        i = rest.indexOf('-');
        if (i < 0) {
            throw invalidGuestFwd(rule);
        }
        String portText = rest.substring(0, i);
        int port;
        if (!portText.matches("\\s*[+-]?\\d*")) {
            throw invalidGuestFwd(rule);
        }
        try {
            port = portText.isBlank() ? 0 : Integer.parseInt(portText.strip());
        } catch (NumberFormatException e) {
            throw invalidGuestFwd(rule);
        }
        if (port < 1 || port > 65535) {
            throw invalidGuestFwd(rule);
        }
        String target = rest.substring(i + 1);
        if (!target.startsWith("cmd:")) {
            throw new NetdevException("Could not open guest forwarding device 'guestfwd.tcp." + port + "'");
        }
        Memory addr = new Memory(4);
        SlirpSettings.putIn4(addr, 0, serverAddr);
        if (LibSlirp.slirp_add_exec(slirp.slirp(), target.substring(4), addr, port) < 0) {
            throw new NetdevException("Conflicting/invalid host:port in guest forwarding rule '" + rule + "'");
        }
    }

    private static NetdevException invalidGuestFwd(String rule) {
        return new NetdevException("Invalid guest forwarding rule '" + rule + "'");
    }

    @Override
    protected void cleanup() {
        slirp.stop();
    }
}
