package dev.jvmm.core.net.tap;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.NetOffloads;
import dev.jvmm.core.net.NetdevFactory;
import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.os.LibC;
import dev.jvmm.core.os.Poll;
import java.nio.ByteBuffer;

/**
 * One queue of -netdev tap (QEMU's net/tap.c on tap-linux.c): frames to and from a TAP interface's
 * descriptor, with the virtio-net header in front when the descriptor was opened with IFF_VNET_HDR. A reader
 * thread sleeps in poll(2) on the descriptor and a shutdown eventfd; it stops reading while the NIC holds
 * frames it could not take, as QEMU stops polling until tap_send_completed. Writes are non-blocking; a full
 * TAP queue keeps the NIC's frame in this client's bounded queue until POLLOUT.
 */
public final class TapNetdev extends NetClient implements Runnable {
    public static final NetdevFactory FACTORY = TapSetup::create;

    /** sizeof(struct virtio_net_hdr): the header length a fresh IFF_VNET_HDR descriptor uses. */
    static final int VIRTIO_NET_HDR_LEN = 10;
    /** sizeof(struct virtio_net_hdr_mrg_rxbuf). */
    static final int VIRTIO_NET_HDR_MRG_LEN = 12;
    /** QEMU's tap read buffer: 68 KiB, a 64 KiB TSO frame with its header. */
    static final int BUF_SIZE = 69632;
    private static final int PAUSE_POLL_MS = 50;

    private final int fd;
    private final boolean vnetHdr;
    private final String info;
    private final String downscript;
    private final String ifname;
    private final EventFd stop = new EventFd();
    private final Poll poll = new Poll();
    private final Memory readMem = new Memory(BUF_SIZE);
    private final ByteBuffer readView = readMem.getByteBuffer(0, BUF_SIZE);
    private final Memory writeMem = new Memory(BUF_SIZE + VIRTIO_NET_HDR_MRG_LEN);
    private final ByteBuffer writeView = writeMem.getByteBuffer(0, writeMem.size());
    private volatile int hostHdrLen;
    private volatile boolean usingVnetHdr;
    private volatile boolean wantWrite;
    private volatile boolean closing;
    private boolean hasUfo;
    private Thread thread;

    TapNetdev(String id, int queueIndex, int fd, boolean vnetHdr, String info, String ifname, String downscript) {
        super(id, "tap", NetClientKind.NETDEV, queueIndex);
        this.fd = fd;
        this.vnetHdr = vnetHdr;
        this.info = info;
        this.ifname = ifname;
        this.downscript = downscript;
        this.hostHdrLen = vnetHdr ? VIRTIO_NET_HDR_LEN : 0;
        if (vnetHdr) {
            hasUfo = probeOffload(Tun.TUN_F_CSUM | Tun.TUN_F_UFO);
            setOffload(NetOffloads.NONE);
        }
    }

    void start() {
        thread = new Thread(this, "tap-" + name() + "-" + queueIndex());
        thread.setDaemon(true);
        thread.start();
    }

    /** The TAP descriptor (for tests and diagnostics). */
    public int fd() {
        return fd;
    }

    @Override
    public String infoString() {
        return info;
    }

    @Override
    public boolean hasVnetHdr() {
        return vnetHdr;
    }

    @Override
    public boolean hasUfo() {
        return hasUfo;
    }

    /** QEMU's tap_probe_vnet_hdr_len: the kernel takes len, checked by setting it and restoring the old one. */
    @Override
    public boolean hasVnetHdrLen(int len) {
        if (!vnetHdr) {
            return false;
        }
        try {
            int orig = Tun.getInt(fd, Tun.TUNGETVNETHDRSZ);
            Tun.setInt(fd, Tun.TUNSETVNETHDRSZ, len);
            boolean ok = Tun.getInt(fd, Tun.TUNGETVNETHDRSZ) == len;
            Tun.setInt(fd, Tun.TUNSETVNETHDRSZ, orig);
            return ok;
        } catch (LastErrorException e) {
            return false;
        }
    }

    @Override
    public void useVnetHdr(boolean on) {
        usingVnetHdr = on && vnetHdr;
    }

    @Override
    public void setVnetHdrLen(int len) {
        if (!vnetHdr || (len != VIRTIO_NET_HDR_LEN && len != VIRTIO_NET_HDR_MRG_LEN)) {
            return;
        }
        Tun.setInt(fd, Tun.TUNSETVNETHDRSZ, len);
        hostHdrLen = len;
    }

    @Override
    public void setOffload(NetOffloads o) {
        if (!vnetHdr) {
            return;
        }
        int flags = (o.csum() ? Tun.TUN_F_CSUM : 0) | (o.tso4() ? Tun.TUN_F_TSO4 : 0)
                | (o.tso6() ? Tun.TUN_F_TSO6 : 0) | (o.ecn() ? Tun.TUN_F_TSO_ECN : 0);
        if (o.ufo() && probeOffload(flags | Tun.TUN_F_UFO)) {
            return;
        }
        probeOffload(flags);
    }

    private boolean probeOffload(int flags) {
        try {
            Tun.ioctl(fd, Tun.TUNSETOFFLOAD, (long) flags);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    @Override
    protected int receive(ByteBuffer frame) {
        int len = frame.remaining();
        int pad = hostHdrLen > 0 && !usingVnetHdr ? hostHdrLen : 0;
        if (len + pad > writeView.capacity()) {
            return len;
        }
        if (pad > 0) {
            writeMem.clear(pad); // QEMU's tap_receive: a zeroed header in front when the NIC sends none
        }
        writeView.put(pad, frame, frame.position(), len);
        try {
            Tun.write(fd, writeMem, len + pad);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Tun.EAGAIN) {
                wantWrite = true;
                stop.signal();
                return 0;
            }
            // a TAP interface that is down (EIO) drops the frame, as a write error does in QEMU
        }
        return len;
    }

    @Override
    public void run() {
        boolean paused = false;
        while (!closing) {
            paused = !canSendNow();
            poll.clear();
            poll.add(stop.fd(), Poll.POLLIN);
            int events = (paused ? 0 : Poll.POLLIN) | (wantWrite ? Poll.POLLOUT : 0);
            poll.add(fd, events);
            poll.poll(paused ? PAUSE_POLL_MS : -1);
            if (poll.revents(0) != 0) {
                stop.drain();
            }
            int r = poll.revents(1);
            if ((r & Poll.POLLOUT) != 0 && wantWrite) {
                wantWrite = false;
                flushQueued();
            }
            if ((r & Poll.POLLNVAL) != 0) {
                return;
            }
            if ((r & Poll.POLLIN) != 0 && !paused) {
                paused = readAvailable();
            }
        }
    }

    /** Reads frames until the descriptor is empty or the NIC refuses one; true when it refused. */
    private boolean readAvailable() {
        for (int i = 0; i < 64 && !closing; i++) {
            long n;
            try {
                n = Tun.read(fd, readMem, BUF_SIZE);
            } catch (LastErrorException e) {
                return false; // EAGAIN: drained
            }
            if (n <= 0) {
                return false;
            }
            int skip = hostHdrLen > 0 && !usingVnetHdr ? hostHdrLen : 0;
            if (n <= skip) {
                continue;
            }
            readView.limit((int) n).position(skip);
            if (send(readView) == 0) {
                return true;
            }
        }
        return false;
    }

    /** The NIC took what it held: the reader looks again at once rather than at its next pause poll. */
    @Override
    protected void peerCanReceive() {
        stop.signal();
    }

    @Override
    protected void cleanup() {
        closing = true;
        stop.signal();
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (downscript != null) {
            TapSetup.launchScript(downscript, ifname);
        }
        Tun.close(fd);
        stop.close();
    }

    static void setNonBlocking(int fd) {
        LibC.setNonBlocking(fd);
    }
}
