package dev.jvmm.tests;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-net over -netdev tap (vhost off: jvmm has none, and this host has no /dev/vhost-net), jvmm against QEMU
 * 7.2 in interleaved rounds, each VMM in the same private network namespace as its host side:
 * <ul>
 * <li>guest to host: the tiny guest blasts 1514-byte frames (UDP) at a socket in the namespace, which counts
 * what arrives between its first and its last datagram (Mbit/s of frames and frames per second);</li>
 * <li>host to guest: a sender in the namespace sends 1514-byte frames as fast as the socket takes them, the
 * guest's sink counts what it receives over the time it was busy;</li>
 * <li>round-trip latency: ping from the namespace to the guest's answer mode (the average of 50, after 200 to
 * warm up).</li>
 * </ul>
 * The guest's kernel code is emulated by KVM here (PVM), so the guest side bounds every figure; the ratio
 * between the VMMs is the point. Prints BENCH lines; asserts no speed.
 */
@Tag("benchmark")
class NetTapBenchmarkTest {
    private static final int ROUNDS = 3;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String TAP = "tap,id=n0,ifname=tap0,script=no,downscript=no";
    private static final String NIC = "virtio-net-pci,netdev=n0,disable-legacy=on";
    private static final int BLAST_FRAMES = 20000;

    private static final String COUNTER = "import socket,time\n"
            + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            + "s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,16<<20)\ns.bind(('10.9.0.1',9))\n"
            + "print('ready',flush=True)\ns.settimeout(60)\nn=b=0\nt0=t1=0\n"
            + "try:\n  while True:\n    d=s.recv(65536)\n    t1=time.monotonic()\n"
            + "    if n==0: t0=t1\n    n+=1; b+=len(d)+42; s.settimeout(2)\n"
            + "except socket.timeout:\n  pass\nprint(n,b,t1-t0,flush=True)\n";

    private static final String SENDER = "import socket,sys,time\n"
            + "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            + "p=b'x'*1472\nend=time.monotonic()+float(sys.argv[1])\nn=0\n"
            + "while time.monotonic()<end:\n"
            + "  try:\n    s.sendto(p,('10.9.0.2',9)); n+=1\n  except OSError:\n    time.sleep(0.001)\n"
            + "print(n,flush=True)\n";

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a[a.length / 2];
    }

    /** Frames per second and Mbit/s the namespace's socket saw from the guest's blast. */
    private static double[] guestToHost(NetGuestSideBySideTest.Vmm vmm) throws Exception {
        try (NetGuestSideBySideTest.TapNamespace ns = new NetGuestSideBySideTest.TapNamespace()) {
            Process counter = new ProcessBuilder("ip", "netns", "exec", ns.name, "python3", "-c", COUNTER)
                    .redirectErrorStream(true).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(counter.getInputStream(),
                        StandardCharsets.UTF_8));
                assertEquals("ready", out.readLine());
                String blast = "action=net nic=virtio mode=blast ip=10.9.0.2 dst=10.9.0.1 port=9 count="
                        + BLAST_FRAMES + " size=1514";
                try (VmProcess p = vmm.inNamespace(ns.name, TinyGuest.args(Env.guest("tiny.pvh"), blast,
                        "-netdev", TAP, "-device", NIC))) {
                    VmProcess.Result r = p.await(TIMEOUT);
                    assertEquals(TinyGuest.EXIT_PASSED, r.status(), r.stdout() + r.stderr());
                }
                assertTrue(counter.waitFor(90, TimeUnit.SECONDS), "counter did not finish");
                String[] f = out.readLine().split(" ");
                long frames = Long.parseLong(f[0]);
                long bytes = Long.parseLong(f[1]);
                double seconds = Double.parseDouble(f[2]);
                return new double[] {frames / seconds, bytes * 8 / seconds / 1e6};
            } finally {
                counter.destroyForcibly();
            }
        }
    }

    private static final Pattern SINK = Pattern.compile("net: sink received (\\d+) frames (\\d+) bytes\n"
            + "net: sink busy for (\\d+) us");

    /** Frames per second and Mbit/s (frames) the guest's sink took from a sender in the namespace. */
    private static double[] hostToGuest(NetGuestSideBySideTest.Vmm vmm) throws Exception {
        try (NetGuestSideBySideTest.TapNamespace ns = new NetGuestSideBySideTest.TapNamespace()) {
            String sink = "action=net nic=virtio mode=sink ip=10.9.0.2 port=9 time=30 quiet=1000";
            try (VmProcess p = vmm.inNamespace(ns.name, TinyGuest.args(Env.guest("tiny.pvh"), sink,
                    "-netdev", TAP, "-device", NIC))) {
                assertTrue(p.waitForOutput("net: sink on port 9 ready", TIMEOUT), p.stdoutSoFar() + p.stderrSoFar());
                // the namespace's ARP for the guest comes first; the sink answers it
                ns.exec(20, "ping", "-c", "1", "-W", "5", "10.9.0.2");
                ns.exec(30, "python3", "-c", SENDER, "3");
                VmProcess.Result r = p.await(TIMEOUT);
                Matcher m = SINK.matcher(r.stdout());
                assertTrue(m.find(), r.stdout() + r.stderr());
                long frames = Long.parseLong(m.group(1));
                double seconds = Long.parseLong(m.group(3)) / 1e6;
                return new double[] {frames / seconds, frames * 1514 * 8 / seconds / 1e6};
            }
        }
    }

    private static final Pattern RTT = Pattern.compile("rtt min/avg/max/mdev = [\\d.]+/([\\d.]+)/");

    /**
     * Average round trip in microseconds of 50 pings from the namespace to the guest, after 200 that warm the
     * path up (jvmm's per-frame code is interpreted until the JIT compiles it; QEMU gets the same warm-up).
     */
    private static double latency(NetGuestSideBySideTest.Vmm vmm) throws Exception {
        try (NetGuestSideBySideTest.TapNamespace ns = new NetGuestSideBySideTest.TapNamespace()) {
            String answer = "action=net nic=virtio mode=static ip=10.9.0.2 peer=10.9.0.1 role=answer count=251 timeout=120";
            try (VmProcess p = vmm.inNamespace(ns.name, TinyGuest.args(Env.guest("tiny.pvh"), answer,
                    "-netdev", TAP, "-device", NIC))) {
                assertTrue(p.waitForOutput("role answer", TIMEOUT), p.stdoutSoFar() + p.stderrSoFar());
                ns.exec(20, "ping", "-c", "1", "-W", "5", "10.9.0.2");
                ns.exec(60, "ping", "-c", "200", "-i", "0.01", "-W", "5", "10.9.0.2");
                String out = ns.exec(60, "ping", "-c", "50", "-i", "0.02", "-W", "5", "10.9.0.2");
                p.await(TIMEOUT);
                Matcher m = RTT.matcher(out);
                assertTrue(m.find(), out);
                return Double.parseDouble(m.group(1)) * 1000;
            }
        }
    }

    @Test
    void tapThroughputAndLatency() throws Exception {
        NetGuestSideBySideTest.Vmm qemu = NetGuestSideBySideTest.Vmm.QEMU;
        NetGuestSideBySideTest.Vmm jvmm = NetGuestSideBySideTest.Vmm.JVMM;
        qemu.command();
        jvmm.command();
        List<List<Double>> j = new ArrayList<>();
        List<List<Double>> q = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            j.add(new ArrayList<>());
            q.add(new ArrayList<>());
        }
        for (int round = 0; round < ROUNDS; round++) {
            for (NetGuestSideBySideTest.Vmm vmm : List.of(jvmm, qemu)) {
                List<List<Double>> into = vmm == jvmm ? j : q;
                double[] up = guestToHost(vmm);
                double[] down = hostToGuest(vmm);
                into.get(0).add(up[0]);
                into.get(1).add(up[1]);
                into.get(2).add(down[0]);
                into.get(3).add(down[1]);
                into.get(4).add(latency(vmm));
            }
        }
        String[] what = {"guest->host frames/s", "guest->host Mbit/s", "host->guest frames/s", "host->guest Mbit/s",
                "ping RTT us"};
        for (int i = 0; i < what.length; i++) {
            double jm = median(j.get(i));
            double qm = median(q.get(i));
            System.out.printf("BENCH net tap virtio-net %s: jvmm %.1f, QEMU %.1f; jvmm/QEMU %.2fx (median of %d"
                    + " interleaved rounds, 1514-byte frames, vhost off)%n", what[i], jm, qm, jm / qm, ROUNDS);
        }
    }
}
