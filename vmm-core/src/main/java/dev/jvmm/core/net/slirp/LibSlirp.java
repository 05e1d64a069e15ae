package dev.jvmm.core.net.slirp;

import com.sun.jna.Callback;
import com.sun.jna.CallbackReference;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * libslirp 4.7's public API (libslirp.h) as far as -netdev user needs it, bound to libslirp.so.0 with JNA
 * direct mapping. Every call on one Slirp instance happens on that instance's thread: libslirp is not
 * thread-safe. Struct layouts are written by offset for x86-64 (LP64).
 */
final class LibSlirp {
    static final int SLIRP_POLL_IN = 1;
    static final int SLIRP_POLL_OUT = 1 << 1;
    static final int SLIRP_POLL_PRI = 1 << 2;
    static final int SLIRP_POLL_ERR = 1 << 3;
    static final int SLIRP_POLL_HUP = 1 << 4;

    /** SlirpConfig version 4 (libslirp 4.7): up to disable_dhcp, as QEMU 7.2 sets it for libslirp 4.7. */
    static final int CONFIG_VERSION = 4;

    // SlirpConfig field offsets (LP64; struct in6_addr aligns to 4).
    static final int CFG_VERSION = 0;
    static final int CFG_RESTRICTED = 4;
    static final int CFG_IN_ENABLED = 8;
    static final int CFG_VNETWORK = 12;
    static final int CFG_VNETMASK = 16;
    static final int CFG_VHOST = 20;
    static final int CFG_IN6_ENABLED = 24;
    static final int CFG_VPREFIX_ADDR6 = 28;
    static final int CFG_VPREFIX_LEN = 44;
    static final int CFG_VHOST6 = 48;
    static final int CFG_VHOSTNAME = 64;
    static final int CFG_TFTP_SERVER_NAME = 72;
    static final int CFG_TFTP_PATH = 80;
    static final int CFG_BOOTFILE = 88;
    static final int CFG_VDHCP_START = 96;
    static final int CFG_VNAMESERVER = 100;
    static final int CFG_VNAMESERVER6 = 104;
    static final int CFG_VDNSSEARCH = 120;
    static final int CFG_VDOMAINNAME = 128;
    static final int CFG_IF_MTU = 136;
    static final int CFG_IF_MRU = 144;
    static final int CFG_DISABLE_HOST_LOOPBACK = 152;
    static final int CFG_ENABLE_EMU = 153;
    static final int CFG_OUTBOUND_ADDR = 160;
    static final int CFG_OUTBOUND_ADDR6 = 168;
    static final int CFG_DISABLE_DNS = 176;
    static final int CFG_DISABLE_DHCP = 177;
    static final int CFG_SIZE = 184;

    /** SlirpCb: send_packet .. timer_new_opaque, eleven function pointers in 4.7; room for later ones stays 0. */
    static final int CB_SEND_PACKET = 0;
    static final int CB_GUEST_ERROR = 1;
    static final int CB_CLOCK_GET_NS = 2;
    static final int CB_TIMER_NEW = 3;
    static final int CB_TIMER_FREE = 4;
    static final int CB_TIMER_MOD = 5;
    static final int CB_REGISTER_POLL_FD = 6;
    static final int CB_UNREGISTER_POLL_FD = 7;
    static final int CB_NOTIFY = 8;
    static final int CB_SLOTS = 16;

    static final String LIBRARY = "libslirp.so.0";

    private static final Throwable LOAD_ERROR;

    static {
        Throwable err = null;
        try {
            Native.register(LibSlirp.class, NativeLibrary.getInstance(LIBRARY));
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            err = e;
        }
        LOAD_ERROR = err;
    }

    private LibSlirp() {
    }

    /** Null when libslirp is loaded, else why not. */
    static Throwable loadError() {
        return LOAD_ERROR;
    }

    interface SendPacketCb extends Callback {
        long invoke(Pointer buf, long len, Pointer opaque);
    }

    interface GuestErrorCb extends Callback {
        void invoke(Pointer msg, Pointer opaque);
    }

    interface ClockGetNsCb extends Callback {
        long invoke(Pointer opaque);
    }

    interface TimerNewCb extends Callback {
        Pointer invoke(Pointer cb, Pointer cbOpaque, Pointer opaque);
    }

    interface TimerFreeCb extends Callback {
        void invoke(Pointer timer, Pointer opaque);
    }

    interface TimerModCb extends Callback {
        void invoke(Pointer timer, long expireMs, Pointer opaque);
    }

    interface PollFdCb extends Callback {
        void invoke(int fd, Pointer opaque);
    }

    interface NotifyCb extends Callback {
        void invoke(Pointer opaque);
    }

    interface AddPollCb extends Callback {
        int invoke(int fd, int events, Pointer opaque);
    }

    interface GetREventsCb extends Callback {
        int invoke(int idx, Pointer opaque);
    }

    /** A SlirpTimerCb libslirp hands to timer_new: void (*)(void *opaque). */
    interface TimerCb extends Callback {
        void invoke(Pointer opaque);
    }

    static void putCallback(Memory table, int slot, Callback cb) {
        table.setPointer((long) slot * Native.POINTER_SIZE, CallbackReference.getFunctionPointer(cb));
    }

    static native Pointer slirp_new(Pointer cfg, Pointer callbacks, Pointer opaque);

    static native void slirp_cleanup(Pointer slirp);

    static native void slirp_pollfds_fill(Pointer slirp, Pointer timeout, AddPollCb addPoll, Pointer opaque);

    static native void slirp_pollfds_poll(Pointer slirp, int selectError, GetREventsCb getRevents,
            Pointer opaque);

    static native void slirp_input(Pointer slirp, Pointer pkt, int len);

    /** host_addr and guest_addr are struct in_addr passed by value: an int in network byte order. */
    static native int slirp_add_hostfwd(Pointer slirp, int isUdp, int hostAddr, int hostPort, int guestAddr,
            int guestPort);

    static native int slirp_remove_hostfwd(Pointer slirp, int isUdp, int hostAddr, int hostPort);

    static native int slirp_add_exec(Pointer slirp, String cmdline, Pointer guestAddr, int guestPort);
}
