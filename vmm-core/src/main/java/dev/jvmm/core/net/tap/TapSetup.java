package dev.jvmm.core.net.tap;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetdevOptions;
import dev.jvmm.core.os.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * -netdev tap's options and set-up as QEMU 7.2's net_init_tap and tap_open (tap-linux.c) do them: ifname=,
 * script=/downscript=, fd=/fds=, vnet_hdr=, queues=, sndbuf=; vhost= needs /dev/vhost-net and helper= is
 * refused. Messages are QEMU's.
 */
final class TapSetup {
    static final String DEFAULT_NETWORK_SCRIPT = "/etc/qemu-ifup";
    static final String DEFAULT_NETWORK_DOWN_SCRIPT = "/etc/qemu-ifdown";
    static final String VHOST_NET = "/dev/vhost-net";
    private static final long SCRIPT_TIMEOUT_S = 60;

    private TapSetup() {
    }

    static Netdev create(NetdevOptions o, NetdevContext ctx) throws NetdevException {
        String id = o.id();
        Optional<String> fd = o.string("fd");
        Optional<String> fds = o.string("fds");
        Optional<String> ifnameOpt = o.string("ifname");
        Optional<String> script = o.string("script");
        Optional<String> downscript = o.string("downscript");
        Optional<String> helper = o.string("helper");
        boolean hasVnetHdr = o.has("vnet_hdr");
        boolean vnetHdrOpt = o.bool("vnet_hdr", true);
        boolean hasQueues = o.has("queues");
        long queues = o.number("queues", 1, 1024, "uint32");
        long sndbuf = size(o, "sndbuf");
        boolean vhost = o.bool("vhost", false);
        boolean vhostforce = o.bool("vhostforce", false);
        Optional<String> vhostfd = o.string("vhostfd");
        Optional<String> vhostfds = o.string("vhostfds");
        o.number("poll-us", 0, 0xffffffffL, "uint32");

        if (fd.isPresent()) {
            if (ifnameOpt.isPresent() || script.isPresent() || downscript.isPresent() || hasVnetHdr
                    || helper.isPresent() || hasQueues || fds.isPresent() || vhostfds.isPresent()) {
                throw new NetdevException("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, "
                        + "and vhostfds= are invalid with fd=");
            }
        } else if (fds.isPresent()) {
            if (ifnameOpt.isPresent() || script.isPresent() || downscript.isPresent() || hasVnetHdr
                    || helper.isPresent() || hasQueues || vhostfd.isPresent()) {
                throw new NetdevException("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, "
                        + "and vhostfd= are invalid with fds=");
            }
        } else if (helper.isPresent()) {
            if (ifnameOpt.isPresent() || script.isPresent() || downscript.isPresent() || hasVnetHdr
                    || hasQueues || vhostfds.isPresent()) {
                throw new NetdevException("ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= "
                        + "are invalid with helper=");
            }
            throw new NetdevException("helper= (qemu-bridge-helper) is not supported; use ifname= or fd=");
        }
        if (vhost || vhostforce || vhostfd.isPresent() || vhostfds.isPresent()) {
            checkVhost();
        }
        if (queues < 1) {
            throw new NetdevException("Parameter 'queues' expects a value of at least 1");
        }
        List<Integer> opened = new ArrayList<>();
        List<NetClient> clients = new ArrayList<>();
        try {
            if (fd.isPresent() || fds.isPresent()) {
                List<String> names = fd.isPresent() ? List.of(fd.get()) : List.of(fds.get().split(":", -1));
                for (int i = 0; i < names.size(); i++) {
                    int n = descriptor(ctx, id, names.get(i));
                    opened.add(n);
                    boolean vh = probeVnetHdr(n);
                    LibC.setNonBlocking(n);
                    setSndbuf(n, sndbuf);
                    clients.add(new TapNetdev(id, i, n, vh, "fd=" + n, null, null));
                }
            } else {
                String up = script.orElse(DEFAULT_NETWORK_SCRIPT);
                String down = downscript.orElse(DEFAULT_NETWORK_DOWN_SCRIPT);
                String ifname = ifnameOpt.orElse("");
                for (int i = 0; i < queues; i++) {
                    boolean[] vnet = {!hasVnetHdr || vnetHdrOpt};
                    String[] name = {ifname};
                    int n = open(name, vnet, hasVnetHdr && vnetHdrOpt, queues > 1);
                    opened.add(n);
                    ifname = name[0];
                    setSndbuf(n, sndbuf);
                    if (i == 0 && !up.equals("no") && !up.isEmpty()) {
                        int status = launchScript(up, ifname);
                        if (status != 0) {
                            throw new NetdevException("network script " + up + " failed with status " + status);
                        }
                    }
                    String infoDown = i >= 1 ? "no" : down;
                    String info = "ifname=" + ifname + ",script=" + (i >= 1 ? "no" : up) + ",downscript=" + infoDown;
                    boolean runsDown = !infoDown.equals("no") && !infoDown.isEmpty();
                    clients.add(new TapNetdev(id, i, n, vnet[0], info, ifname, runsDown ? infoDown : null));
                }
            }
        } catch (NetdevException | RuntimeException e) {
            for (int n : opened) {
                Tun.close(n);
            }
            throw e;
        }
        for (NetClient c : clients) {
            ((TapNetdev) c).start();
        }
        return new Netdev(id, "tap", clients);
    }

    /**
     * QEMU 7.2 fails a tap with vhost=on when /dev/vhost-net cannot be opened (with vhostforce=on it says so;
     * without, it warns with the same text and then fails); jvmm has no vhost-net data path either way.
     */
    private static void checkVhost() throws NetdevException {
        if (!Files.exists(Path.of(VHOST_NET))) {
            throw new NetdevException("tap: open vhost char device failed: No such file or directory");
        }
        throw new NetdevException("vhost-net requested but could not be initialized");
    }

    private static int descriptor(NetdevContext ctx, String id, String name) throws NetdevException {
        int n = ctx.fd(name);
        if (!Files.exists(Path.of("/proc/self/fd/" + n))) {
            throw new NetdevException(id + ": Can't use file descriptor " + n + ": Bad file descriptor");
        }
        return n;
    }

    /** QEMU's tap_probe_vnet_hdr: whether the descriptor was opened with IFF_VNET_HDR. */
    private static boolean probeVnetHdr(int fd) throws NetdevException {
        Memory ifr = Tun.ifreq("", 0);
        try {
            Tun.ioctl(fd, Tun.TUNGETIFF, ifr);
        } catch (LastErrorException e) {
            throw new NetdevException("Unable to query TUNGETIFF on FD " + fd + ": "
                    + LibC.describe(e.getErrorCode()));
        }
        return (Tun.ifrFlags(ifr) & Tun.IFF_VNET_HDR) != 0;
    }

    /**
     * tap_open: /dev/net/tun with IFF_TAP|IFF_NO_PI, IFF_VNET_HDR when vnet[0] and the kernel has it
     * (vnet[0] is set to the outcome), IFF_MULTI_QUEUE for several queues; name[0] is the template in and
     * the interface's name out.
     */
    static int open(String[] name, boolean[] vnet, boolean vnetRequired, boolean multiQueue)
            throws NetdevException {
        int fd;
        try {
            fd = Tun.open(Tun.PATH_NET_TUN, Tun.O_RDWR | Tun.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new NetdevException("could not open " + Tun.PATH_NET_TUN + ": " + LibC.describe(e.getErrorCode()));
        }
        try {
            int flags = Tun.IFF_TAP | Tun.IFF_NO_PI;
            int features = 0;
            if (vnet[0] || multiQueue) {
                try {
                    features = Tun.getInt(fd, Tun.TUNGETFEATURES);
                } catch (LastErrorException e) {
                    features = 0;
                }
            }
            if (vnet[0]) {
                vnet[0] = (features & Tun.IFF_VNET_HDR) != 0;
                if (vnet[0]) {
                    flags |= Tun.IFF_VNET_HDR;
                }
                if (vnetRequired && !vnet[0]) {
                    throw new NetdevException(
                            "vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
                }
            }
            if (multiQueue) {
                if ((features & Tun.IFF_MULTI_QUEUE) == 0) {
                    throw new NetdevException(
                            "multiqueue required, but no kernel support for IFF_MULTI_QUEUE available");
                }
                flags |= Tun.IFF_MULTI_QUEUE;
            }
            String template = name[0].isEmpty() ? "tap%d" : name[0];
            Memory ifr = Tun.ifreq(template, flags);
            try {
                Tun.ioctl(fd, Tun.TUNSETIFF, ifr);
            } catch (LastErrorException e) {
                String why = LibC.describe(e.getErrorCode());
                throw new NetdevException(name[0].isEmpty()
                        ? "could not configure " + Tun.PATH_NET_TUN + ": " + why
                        : "could not configure " + Tun.PATH_NET_TUN + " (" + Tun.ifrName(ifr) + "): " + why);
            }
            name[0] = Tun.ifrName(ifr);
            LibC.setNonBlocking(fd);
            return fd;
        } catch (NetdevException | RuntimeException e) {
            Tun.close(fd);
            throw e;
        }
    }

    /** QEMU's tap_set_sndbuf: sndbuf= or INT_MAX (unlimited) by default. */
    private static void setSndbuf(int fd, long sndbuf) throws NetdevException {
        int value = sndbuf == 0 ? Integer.MAX_VALUE : (int) Math.min(sndbuf, Integer.MAX_VALUE);
        try {
            Tun.setInt(fd, Tun.TUNSETSNDBUF, value);
        } catch (LastErrorException e) {
            throw new NetdevException("TUNSETSNDBUF ioctl failed: " + LibC.describe(e.getErrorCode()));
        }
    }

    /** A QAPI size: a number with an optional k/M/G/T/P/E suffix (binary), as QEMU's qemu_strtosz. */
    private static long size(NetdevOptions o, String key) throws NetdevException {
        Object v = o.has(key) ? o.args().get(key) : null;
        if (v == null) {
            return 0;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        String s = v.toString();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([bkKmMgGtTpPeE]?)").matcher(s);
        if (!m.matches()) {
            throw new NetdevException("Parameter '" + key + "' expects a size value");
        }
        int shift = switch (m.group(2).toLowerCase()) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            case "p" -> 50;
            case "e" -> 60;
            default -> 0;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new NetdevException("Parameter '" + key + "' expects a size value");
        }
    }

    /**
     * QEMU's launch_script: runs script with the interface name as its one argument and returns the wait
     * status (exit code times 256), bounded by a generous timeout.
     */
    static int launchScript(String script, String ifname) {
        try {
            Process p = new ProcessBuilder(script, ifname).inheritIO().start();
            if (!p.waitFor(SCRIPT_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return 9;
            }
            return p.exitValue() << 8;
        } catch (IOException e) {
            return 1 << 8; // the child's execv failed: QEMU's child exits with 1
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1 << 8;
        }
    }
}
