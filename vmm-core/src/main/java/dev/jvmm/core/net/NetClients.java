package dev.jvmm.core.net;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The machine's net clients in creation order (QEMU's net_clients list): backend queues, NIC queues and hub
 * ports. Lookups by name, QEMU's rules for attaching a NIC to a netdev, deleting a netdev and changing a
 * link, and the machine's run state, which holds delivery while the guest is stopped.
 */
public final class NetClients {
    private final List<NetClient> clients = new CopyOnWriteArrayList<>();
    private volatile boolean running;

    /** Adds a backend's queues (the caller checked the id is free). */
    public void add(Netdev netdev) {
        for (NetClient c : netdev.queues()) {
            add(c);
        }
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
