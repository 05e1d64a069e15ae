package dev.jvmm.core.net;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The machine's net clients in creation order (QEMU's net_clients list): backend queues, NIC queues and hub
 * ports. Lookups by name, QEMU's rules for attaching a NIC to a netdev, deleting a netdev and changing a
 * link, and the machine's run state, which holds delivery while the guest is stopped.
 */
public final class NetClients {
    private final List<NetClient> clients = new CopyOnWriteArrayList<>();
    /** The hubs, newest first (QEMU's hubs list). */
    private final List<Hub> hubs = new CopyOnWriteArrayList<>();
    /** The backends made by -netdev, -nic and netdev_add (QEMU's is_netdev), by id. */
    private final Map<String, Netdev> netdevs = new LinkedHashMap<>();
    /** Every backend, legacy -net ones included, in creation order: what {@link #closeAll} closes. */
    private final List<Netdev> backends = new CopyOnWriteArrayList<>();
    private final NetdevTypes types;
    /** qemu_macaddr_default_if_unset's counter: the next default MAC is 52:54:00:12:34:56 plus this. */
    private final int[] macTable = new int[256];
    private volatile boolean running;

    public NetClients() {
        this(NetdevTypes.standard());
    }

    public NetClients(NetdevTypes types) {
        this.types = types;
    }

    public NetdevTypes types() {
        return types;
    }

    /** Adds a backend's queues as a netdev (-netdev, netdev_add); the caller checked the id is free. */
    public void add(Netdev netdev) {
        addBackend(netdev, true);
    }

    /**
     * Adds a backend's queues; isNetdev false for legacy -net backends, which netdev_del refuses ("is not a
     * netdev") and a NIC's netdev= still finds, as QEMU's qemu_find_netdev does.
     */
    public void addBackend(Netdev netdev, boolean isNetdev) {
        for (NetClient c : netdev.queues()) {
            add(c);
        }
        backends.add(netdev);
        if (isNetdev) {
            synchronized (netdevs) {
                netdevs.put(netdev.id(), netdev);
            }
        }
    }

    /**
     * QEMU's net_client_init1 for a netdev: the id must be free among the backends, the type's factory builds
     * it and its queues join the list. isNetdev as in {@link #addBackend}.
     */
    public Netdev create(NetdevOptions opts, NetdevContext ctx, boolean isNetdev) throws NetdevException {
        NetdevFactory f = types.factory(opts.type());
        if (!named(opts.id(), false).isEmpty()) {
            throw new NetdevException("Duplicate ID '" + opts.id() + "'");
        }
        Netdev nd = f.create(opts, ctx);
        addBackend(nd, isNetdev);
        return nd;
    }

    /** Whether a backend named id was made as a netdev (QEMU's is_netdev). */
    public boolean isNetdev(String id) {
        synchronized (netdevs) {
            return netdevs.containsKey(id);
        }
    }

    /** The hub numbered id, made when it does not exist yet (QEMU's net_hub_add_port finds or makes it). */
    public synchronized Hub hub(int id) {
        for (Hub h : hubs) {
            if (h.id() == id) {
                return h;
            }
        }
        Hub h = new Hub(id);
        hubs.add(0, h);
        return h;
    }

    /** The hubs, newest first. */
    public List<Hub> hubs() {
        return List.copyOf(hubs);
    }

    /** QEMU's net_hub_add_port for legacy -net: a port "hubNportM" of hub id, in the list, linked to peer. */
    public HubPort addHubPort(int hubId, NetClient peer) {
        HubPort port = hub(hubId).newPort(null, peer);
        add(port);
        return port;
    }

    /** QEMU's default NIC address base, 52:54:00:12:34:00. */
    public static final long DEFAULT_MAC_BASE = 0x5254_0012_3400L;
    private static final int FIRST_DEFAULT_MAC = 0x56;
    private static final int LAST_DEFAULT_MAC = 0xfe;

    /**
     * QEMU's qemu_macaddr_default_if_unset: a NIC's address as given, or 52:54:00:12:34:NN with NN the first
     * of 0x56..0xfe not in use (0xff when all are); either way an address of that base is counted used. The
     * counts are QEMU's mac_table: -nic/-net count an address once when parsed and again when their NIC is
     * made, as in QEMU, and {@link #freeMac} gives back one count when a NIC goes.
     */
    public synchronized MacAddress defaultMacIfUnset(MacAddress given) {
        MacAddress mac = given;
        if (mac == null) {
            int free = 0xff;
            for (int i = FIRST_DEFAULT_MAC; i <= LAST_DEFAULT_MAC; i++) {
                if (macTable[i] == 0) {
                    free = i;
                    break;
                }
            }
            mac = new MacAddress(DEFAULT_MAC_BASE | free);
        }
        int last = defaultMacIndex(mac);
        if (last >= 0) {
            macTable[last]++;
        }
        return mac;
    }

    /** QEMU's qemu_macaddr_set_free, for a NIC that goes away with its configured address. */
    public synchronized void freeMac(MacAddress mac) {
        int last = defaultMacIndex(mac);
        if (last >= 0 && macTable[last] > 0) {
            macTable[last]--;
        }
    }

    private static int defaultMacIndex(MacAddress mac) {
        if ((mac.bits() & ~0xffL) != DEFAULT_MAC_BASE) {
            return -1;
        }
        int last = (int) (mac.bits() & 0xff);
        return last >= FIRST_DEFAULT_MAC && last <= LAST_DEFAULT_MAC ? last : -1;
    }

    /** Adds one client (a NIC queue, a hub port). */
    public void add(NetClient c) {
        c.setOwner(this);
        clients.add(c);
    }

    public List<NetClient> all() {
        return List.copyOf(clients);
    }

    /** The clients named name, in queue order, that are (nic true) or are not NICs. */
    public List<NetClient> named(String name, boolean nic) {
        List<NetClient> out = new ArrayList<>();
        for (NetClient c : clients) {
            if (c.name().equals(name) && (c.kind() == NetClientKind.NIC) == nic) {
                out.add(c);
            }
        }
        return out;
    }

    /** The first client of any kind named name (qemu_find_netdev looks at backends only: see named). */
    public Optional<NetClient> find(String name) {
        return clients.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /**
     * QEMU's NIC name (qemu_new_nic's assign_name): the device's id, else "MODEL.N" with N the number of
     * clients of that model already in the list (each queue counts, as each queue of an id-less NIC is named anew).
     */
    public String nicName(String model, String id) {
        if (id != null && !id.isEmpty()) {
            return id;
        }
        int n = 0;
        for (NetClient c : clients) {
            if (c.model().equals(model)) {
                n++;
            }
        }
        return model + "." + n;
    }

    /**
     * QEMU's set_netdev: the queues of netdev id for a NIC that wants them. Throws with the qdev property
     * error for prop ("virtio-net-device.netdev") when there is no such netdev or a queue already has a peer.
     */
    public List<NetClient> claimNetdev(String id, String prop) throws NetdevException {
        List<NetClient> queues = named(id, false);
        if (queues.isEmpty()) {
            throw new NetdevException("Property '" + prop + "' can't find value '" + id + "'");
        }
        for (NetClient q : queues) {
            if (q.peer() != null) {
                throw new NetdevException("Property '" + prop + "' can't take value '" + id + "', it's in use");
            }
        }
        return queues;
    }

    /** Removes clients from the list and unlinks them from their peers' side, dropping their queued frames. */
    public void remove(List<? extends NetClient> gone) {
        for (NetClient c : gone) {
            clients.remove(c);
            NetClient p = c.peer();
            if (p != null) {
                p.purgeQueued(c);
            }
            c.purgeQueued(null);
        }
    }

    /**
     * qmp_netdev_del and qemu_del_net_client: DeviceNotFound (false) when no backend has that name; a backend
     * that is not a netdev is refused. Linked to a NIC, the backend leaves the list and is closed, the NIC's
     * link goes down and the NIC hears of it; the NIC keeps its (now dead) peer, as QEMU's does, so "info
     * network" still shows it and nothing reaches it. Otherwise the backend is unlinked and closed.
     */
    public boolean deleteNetdev(String id) throws NetdevException {
        List<NetClient> queues = named(id, false);
        if (queues.isEmpty()) {
            return false;
        }
        Netdev nd;
        synchronized (netdevs) {
            nd = netdevs.get(id);
            if (nd == null) {
                throw new NetdevException("Device '" + id + "' is not a netdev");
            }
            netdevs.remove(id);
        }
        backends.remove(nd);
        NetClient peer = queues.get(0).peer();
        if (peer != null && peer.kind() == NetClientKind.NIC) {
            for (NetClient q : queues) {
                if (q.peer() != null) {
                    q.peer().setLinkDown(true);
                }
            }
            peer.linkStatusChanged();
            remove(queues);
            for (NetClient q : queues) {
                q.setLinkDown(true);
                q.cleanup();
            }
            return true;
        }
        remove(queues);
        for (NetClient q : queues) {
            NetClient p = q.peer();
            if (p != null && p.peer() == q) {
                NetClient.connect(p, null);
            }
            NetClient.connect(q, null);
            q.cleanup();
        }
        return true;
    }

    /**
     * qmp_query_rx_filter: every NIC's filter (queue 0 only; NICs without one are left out), or the one
     * named, with QEMU's errors for a client that is no NIC, a NIC without one and an unknown name.
     */
    public List<RxFilterInfo> rxFilters(String name) throws NetdevException {
        List<RxFilterInfo> out = new ArrayList<>();
        for (NetClient c : clients) {
            if (name != null && !c.name().equals(name)) {
                continue;
            }
            if (!(c instanceof NicClient nic)) {
                if (name != null) {
                    throw new NetdevException("net client(" + name + ") isn't a NIC");
                }
                continue;
            }
            if (c.queueIndex() != 0) {
                continue;
            }
            RxFilterInfo info = nic.rxFilter();
            if (info != null) {
                // querying re-arms NIC_RX_FILTER_CHANGED, as virtio-net's query_rx_filter does
                nic.enableRxFilterNotify();
                out.add(info);
            } else if (name != null) {
                throw new NetdevException("net client(" + name + ") doesn't support rx-filter querying");
            }
            if (name != null) {
                break;
            }
        }
        if (out.isEmpty() && name != null) {
            throw new NetdevException("invalid net client name: " + name);
        }
        return out;
    }

    /** Every backend's queues closed (the machine exits); the list is left as it is. */
    public void closeAll() {
        for (NetClient c : clients) {
            if (c.kind() != NetClientKind.NIC) {
                try {
                    c.cleanup();
                } catch (RuntimeException e) {
                    // one backend failing to close must not keep the others open
                }
            }
        }
    }

    public boolean isRunning() {
        return running;
    }

    /** The machine started or stopped; on start every client gets what waited for it. */
    public void setRunning(boolean on) {
        running = on;
        if (on) {
            for (NetClient c : clients) {
                c.flushQueued();
            }
        }
    }

    /**
     * qmp_set_link: every queue named name changes; its peers change too only when they are NIC queues; then
     * the named client and its peer hear of it. False when no client has that name.
     */
    public boolean setLink(String name, boolean up) {
        List<NetClient> queues = new ArrayList<>();
        for (NetClient c : clients) {
            if (c.name().equals(name)) {
                queues.add(c);
            }
        }
        if (queues.isEmpty()) {
            return false;
        }
        for (NetClient q : queues) {
            q.setLinkDown(!up);
        }
        NetClient first = queues.get(0);
        first.linkStatusChanged();
        NetClient peer = first.peer();
        if (peer != null) {
            if (peer.kind() == NetClientKind.NIC) {
                for (NetClient q : queues) {
                    if (q.peer() != null) {
                        q.peer().setLinkDown(!up);
                    }
                }
            }
            peer.linkStatusChanged();
        }
        return true;
    }
}
