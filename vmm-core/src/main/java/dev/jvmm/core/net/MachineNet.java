package dev.jvmm.core.net;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.fd.NamedFds;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.NetControl;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

/** A machine's {@link NetControl} over its {@link NetClients}, with QEMU 7.2's checks and texts. */
public final class MachineNet implements NetControl {
    /** QEMU's id_wellformed: a letter, then letters, digits, '-', '.' and '_'. */
    private static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]*");

    private final NetClients net;
    private final NetdevContext ctx;
    private final Announcer announcer;

    public MachineNet(NetClients net, NetdevContext ctx, ScheduledExecutorService timers) {
        this.net = net;
        this.ctx = ctx;
        this.announcer = new Announcer(net, timers);
    }

    public NetClients clients() {
        return net;
    }

    /** Whether id is an identifier QEMU accepts for a netdev (id_wellformed). */
    public static boolean wellFormedId(String id) {
        return ID.matcher(id).matches();
    }

    @Override
    public void netdevAdd(String type, String id, Map<String, Object> args, NamedFds monitorFds)
            throws MachineCommandException {
        if (!wellFormedId(id)) {
            throw MachineCommandException.generic("Parameter 'id' expects an identifier");
        }
        try {
            net.create(new NetdevOptions(type, id, args), monitorFds == null ? ctx : withMonitor(monitorFds), true);
        } catch (NetdevException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    /**
     * The machine's context with QEMU's monitor_fd_param for a monitor with descriptors: an fd= that does not
     * start with a digit is a getfd name, taken from the monitor; a number is the machine's rule.
     */
    private NetdevContext withMonitor(NamedFds monitorFds) {
        return new NetdevContext() {
            @Override
            public EventBus events() {
                return ctx.events();
            }

            @Override
            public int fd(String nameOrNumber) throws NetdevException {
                if (!nameOrNumber.isEmpty() && !Character.isDigit(nameOrNumber.charAt(0))) {
                    try {
                        return monitorFds.take(nameOrNumber);
                    } catch (MachineCommandException e) {
                        throw new NetdevException(e.getMessage());
                    }
                }
                return ctx.fd(nameOrNumber);
            }

            @Override
            public NetClients net() {
                return ctx.net();
            }
        };
    }

    @Override
    public void netdevDel(String id) throws MachineCommandException {
        try {
            if (!net.deleteNetdev(id)) {
                throw NetControl.notFound(id);
            }
        } catch (NetdevException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    @Override
    public void setLink(String name, boolean up) throws MachineCommandException {
        if (!net.setLink(name, up)) {
            throw NetControl.notFound(name);
        }
    }

    @Override
    public List<RxFilterInfo> queryRxFilter(String name) throws MachineCommandException {
        try {
            return net.rxFilters(name);
        } catch (NetdevException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    @Override
    public void announceSelf(Announcer.Parameters p) {
        announcer.announce(p);
    }

    @Override
    public String infoNetwork() {
        return NetworkReport.infoNetwork(net);
    }

    @Override
    public String hostfwdAdd(String netdevId, String rule) {
        Object s = userStack(netdevId);
        if (s instanceof String text) {
            return text;
        }
        try {
            ((HostForwards) s).addHostForward(rule);
            return "";
        } catch (NetdevException e) {
            return e.getMessage() + "\n";
        }
    }

    @Override
    public String hostfwdRemove(String netdevId, String rule) {
        Object s = userStack(netdevId);
        if (s instanceof String text) {
            return text;
        }
        try {
            return ((HostForwards) s).removeHostForward(rule);
        } catch (NetdevException e) {
            return e.getMessage() + "\n";
        }
    }

    /** QEMU's slirp_lookup: the user backend named, or the first one; else the monitor's text for why not. */
    private Object userStack(String id) {
        if (id != null) {
            NetClient c = net.named(id, false).stream().findFirst().orElse(null);
            if (c == null) {
                return "unrecognized netdev id '" + id + "'\n";
            }
            if (!c.model().equals("user") || !(c instanceof HostForwards)) {
                return "invalid device specified\n";
            }
            return c;
        }
        for (NetClient c : net.all()) {
            if (c.model().equals("user") && c instanceof HostForwards) {
                return c;
            }
        }
        return "user mode network stack not in use\n";
    }

    /** Stops announce-self timers and closes every backend (the machine exits). */
    public void close() {
        announcer.close();
        net.closeAll();
    }
}
