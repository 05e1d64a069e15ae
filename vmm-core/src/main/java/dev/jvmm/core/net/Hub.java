package dev.jvmm.core.net;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * QEMU's NetHub (net/hub.c): a numbered broadcast domain. A frame one port receives from its peer goes out of
 * every other port to that port's peer, as net_hub_receive sends it. Ports are listed newest first, as QEMU's
 * QLIST_INSERT_HEAD keeps them, which is the order "info network" and the start-up checks print.
 */
public final class Hub {
    private final int id;
    private final List<HubPort> ports = new CopyOnWriteArrayList<>();
    private int portsMade;

    Hub(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** The ports, newest first. */
    public List<HubPort> ports() {
        return List.copyOf(ports);
    }

    /**
     * QEMU's net_hub_port_new: a port named name, or "hubNportM" with M counting every port this hub has made;
     * linked to peer when peer is given. The caller adds the port to the machine's list.
     */
    synchronized HubPort newPort(String name, NetClient peer) {
        int n = portsMade++;
        HubPort port = new HubPort(this, name != null ? name : "hub" + id + "port" + n);
        if (peer != null) {
            NetClient.connect(port, peer);
        }
        ports.add(0, port);
        return port;
    }

    void removePort(HubPort port) {
        ports.remove(port);
    }

    /** net_hub_receive: the frame out of every port but source; the caller's buffer is left as it was. */
    void forward(HubPort source, ByteBuffer frame) {
        int pos = frame.position();
        int lim = frame.limit();
        for (HubPort p : ports) {
            if (p != source) {
                p.send(frame);
                frame.limit(lim).position(pos);
            }
        }
    }
}
