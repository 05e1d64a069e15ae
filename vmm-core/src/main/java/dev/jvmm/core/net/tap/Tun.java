package dev.jvmm.core.net.tap;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;

/**
 * The Linux TUN/TAP driver's interface (linux/if_tun.h): /dev/net/tun, TUNSETIFF with a struct ifreq, the
 * feature, offload and vnet-header ioctls, and plain read/write on the queue's descriptor.
 */
final class Tun {
    static final String PATH_NET_TUN = "/dev/net/tun";
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;

    static final int IFF_TAP = 0x0002;
    static final int IFF_MULTI_QUEUE = 0x0100;
    static final int IFF_VNET_HDR = 0x4000;
    static final int IFF_NO_PI = 0x1000;
    static final int IFNAMSIZ = 16;
    /** sizeof(struct ifreq) on x86-64. */
    static final int IFREQ_SIZE = 40;

    static final long TUNSETIFF = 0x400454caL;
    static final long TUNGETFEATURES = 0x800454cfL;
    static final long TUNSETOFFLOAD = 0x400454d0L;
    static final long TUNGETIFF = 0x800454d2L;
    static final long TUNSETSNDBUF = 0x400454d4L;
    static final long TUNGETVNETHDRSZ = 0x800454d7L;
    static final long TUNSETVNETHDRSZ = 0x400454d8L;

    static final int TUN_F_CSUM = 0x01;
    static final int TUN_F_TSO4 = 0x02;
    static final int TUN_F_TSO6 = 0x04;
    static final int TUN_F_TSO_ECN = 0x08;
    static final int TUN_F_UFO = 0x10;

    static final int EAGAIN = 11;
    static final int EINTR = 4;

    static {
        Native.register(Tun.class, "c");
    }

    private Tun() {
    }

    static native int open(String path, int flags) throws LastErrorException;

    static native int ioctl(int fd, long request, Pointer arg) throws LastErrorException;

    /** The ioctls that take their argument by value (TUNSETOFFLOAD). */
    static native int ioctl(int fd, long request, long arg) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    static native int close(int fd);

    /** struct ifreq with ifr_name = name (truncated to IFNAMSIZ-1) and ifr_flags = flags. */
    static Memory ifreq(String name, int flags) {
        Memory m = new Memory(IFREQ_SIZE);
        m.clear();
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        m.write(0, b, 0, Math.min(b.length, IFNAMSIZ - 1));
        m.setShort(IFNAMSIZ, (short) flags);
        return m;
    }

    static String ifrName(Memory ifr) {
        return ifr.getString(0, StandardCharsets.UTF_8.name());
    }

    static int ifrFlags(Memory ifr) {
        return ifr.getShort(IFNAMSIZ) & 0xffff;
    }

    /** An int cell for the ioctls that read or write an int through a pointer. */
    static int getInt(int fd, long request) {
        Memory m = new Memory(4);
        m.setInt(0, 0);
        ioctl(fd, request, m);
        return m.getInt(0);
    }

    static void setInt(int fd, long request, int value) {
        Memory m = new Memory(4);
        m.setInt(0, value);
        ioctl(fd, request, m);
    }
}
