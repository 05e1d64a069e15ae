package dev.jvmm.devices.virtio;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.jvmm.devices.virtio.VirtioPciQtestComparisonTest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same driver script against QEMU 7.2's {@code virtio-balloon-pci,disable-legacy=on} (qtest, slot 4, with
 * QMP beside it for balloon, query-balloon, qom-set and qom-get) and against our device: configuration space,
 * features, the configuration structure before and after a balloon target, inflating RAM pages (which read
 * back as zeroes) among page numbers outside RAM, huge ones and an odd-length buffer, deflating, actual and
 * its BALLOON_CHANGE, the stats queue with the polling interval, and a reset. Every value read must match.
 */
class VirtioBalloonQtestComparisonTest {
    static final int DEVFN = 4 << 3;
    static final long BAR4 = 0xfe00_0000L;
    static final long RAM = 128L << 20;
    static final long DESC = 0x10000;
    static final long AVAIL = 0x11000;
    static final long USED = 0x12000;
    static final long STRIDE = 0x4000;
    static final long PFNS = 0x30000;
    static final long STATS = 0x31000;
    static final int QSIZE = 16;

    /** One side of the comparison: the PCI/memory port plus the host-side controls. */
    interface Side extends VirtioPciQtestComparisonTest.Port {
        void balloon(long target) throws IOException;

        long actual() throws IOException;

        void pollInterval(long seconds) throws IOException;

        /** guest-stats' "stats" member as text "name=value ..." in tag order, and whether last-update moved. */
        String stats() throws IOException;

        /** Lets the stats timer run (QEMU: its virtual clock runs only while the VM does). */
        void tick() throws Exception;

        List<Long> balloonChanges() throws Exception;
    }

    static void script(Side p, List<String> out) throws Exception {
        for (int reg = 0; reg < 256; reg += 4) {
            out.add("cfg " + Integer.toHexString(reg) + " = " + hex(p.cfgRead(reg, 4)));
        }
        p.cfgWrite(0x20, 4, BAR4);
        p.cfgWrite(0x24, 4, 0);
        p.cfgWrite(0x04, 2, 0x6);
        for (int sel = 0; sel < 3; sel++) {
            p.write(BAR4, 4, sel);
            out.add("device_feature[" + sel + "] = " + hex(p.read(BAR4 + 4, 4)));
        }
        for (int off = 0; off < 0x20; off++) {
            out.add("device+" + Integer.toHexString(off) + " b = " + hex(p.read(BAR4 + 0x2000 + off, 1)));
        }
        p.write(BAR4 + 0x14, 1, 3);
        p.write(BAR4 + 0x08, 4, 0);
        p.write(BAR4 + 0x0c, 4, 1 << 1 | 1 << 4);
        p.write(BAR4 + 0x08, 4, 1);
        p.write(BAR4 + 0x0c, 4, 1);
        p.write(BAR4 + 0x14, 1, 0xb);
        out.add("status after FEATURES_OK = " + hex(p.read(BAR4 + 0x14, 1)));
        // a target before DRIVER_OK: num_pages changes, but QEMU neither interrupts nor bumps the generation
        p.balloon(RAM - (4L << 20));
        out.add("before DRIVER_OK: num_pages " + hex(p.read(BAR4 + 0x2000, 4)) + " generation "
                + hex(p.read(BAR4 + 0x15, 1)) + " isr " + hex(p.read(BAR4 + 0x1000, 1)));
        out.add("num_queues = " + hex(p.read(BAR4 + 0x12, 2)));
        for (int q = 0; q < 3; q++) {
            p.write(BAR4 + 0x16, 2, q);
            out.add("queue " + q + " max size = " + hex(p.read(BAR4 + 0x18, 2)));
            p.write(BAR4 + 0x18, 2, QSIZE);
            p.write(BAR4 + 0x20, 4, DESC + q * STRIDE);
            p.write(BAR4 + 0x24, 4, 0);
            p.write(BAR4 + 0x28, 4, AVAIL + q * STRIDE);
            p.write(BAR4 + 0x2c, 4, 0);
            p.write(BAR4 + 0x30, 4, USED + q * STRIDE);
            p.write(BAR4 + 0x34, 4, 0);
            p.write(BAR4 + 0x1c, 2, 1);
        }
        p.write(BAR4 + 0x14, 1, 0xf);
        out.add("status DRIVER_OK = " + hex(p.read(BAR4 + 0x14, 1)));
        out.add("isr = " + hex(p.read(BAR4 + 0x1000, 1)));
        p.balloon(RAM / 2);
        out.add("isr after balloon = " + hex(p.read(BAR4 + 0x1000, 1)));
        out.add("generation = " + hex(p.read(BAR4 + 0x15, 1)));
        for (int off = 0; off < 0x10; off += 4) {
            out.add("device+" + Integer.toHexString(off) + " l = " + hex(p.read(BAR4 + 0x2000 + off, 4)));
        }
        // pages to give: a run, a lone page, the last page of RAM; and page numbers to ignore
        long[] ram = {0x400, 0x401, 0x402, 0x403, 0x1234, (RAM >> 12) - 1};
        long[] bogus = {RAM >> 12, 0xfee00, 0xfffff, 0xffffffffL, 0x80000};
        for (long pfn : ram) {
            p.write(pfn << 12, 8, 0x1122334455667788L);
            p.write((pfn << 12) + 0xff8, 8, 0x99);
        }
        int n = 0;
        for (long pfn : ram) {
            p.write(PFNS + 4L * n++, 4, pfn);
        }
        for (long pfn : bogus) {
            p.write(PFNS + 4L * n++, 4, pfn);
        }
        int[] used = new int[3];
        used[0] = submit(p, out, 0, used[0], 0, PFNS, 4 * n + 3, 0);
        for (long pfn : ram) {
            out.add("page " + Long.toHexString(pfn) + " after inflate = " + hex(p.read(pfn << 12, 8)) + " "
                    + hex(p.read((pfn << 12) + 0xff8, 8)));
        }
        // a writable buffer and a 2-byte buffer: completed, nothing done
        p.write(0x2000L << 12, 8, 5);
        p.write(PFNS, 4, 0x2000);
        used[0] = submit(p, out, 0, used[0], 1, PFNS, 4, 2);
        used[0] = submit(p, out, 0, used[0], 2, PFNS, 2, 0);
        out.add("page 2000 = " + hex(p.read(0x2000L << 12, 8)));
        // deflate the run again
        used[1] = submit(p, out, 1, used[1], 0, PFNS, 16, 0);
        p.write(0x400L << 12, 8, 42);
        out.add("page 400 after deflate and write = " + hex(p.read(0x400L << 12, 8)));
        // actual: the driver reports, the host sees it
        p.write(BAR4 + 0x2004, 4, 0x4000);
        out.add("actual = " + hex(p.read(BAR4 + 0x2004, 4)) + " query-balloon " + p.actual());
        p.write(BAR4 + 0x2005, 1, 0x20);
        out.add("actual after byte write = " + hex(p.read(BAR4 + 0x2004, 4)) + " query-balloon " + p.actual());
        p.write(BAR4 + 0x200c, 4, 0xaa);
        out.add("poison_val = " + hex(p.read(BAR4 + 0x200c, 4)));
        out.add("changes " + p.balloonChanges());
        // statistics: one buffer with two known tags, an unknown one and a partial entry
        int[] tags = {4, 5, 77};
        long[] vals = {0x1000_0000L, 0x2000_0000L, 7};
        for (int i = 0; i < tags.length; i++) {
            p.write(STATS + 10L * i, 2, tags[i]);
            p.write(STATS + 10L * i + 2, 8, vals[i]);
        }
        out.add("stats before = " + p.stats());
        post(p, 2, 0, STATS, 35, 0, 0);
        out.add("stats = " + p.stats());
        out.add("stats used idx before polling = " + hex(p.read(USED + 2 * STRIDE + 2, 2)));
        p.pollInterval(3);
        p.tick();
        awaitUsed(p, 2, 1);
        out.add("stats used idx after polling = " + hex(p.read(USED + 2 * STRIDE + 2, 2)) + " len "
                + hex(p.read(USED + 2 * STRIDE + 8, 4)));
        // reset: actual stays for query-balloon and the configuration
        p.write(BAR4 + 0x14, 1, 0);
        out.add("after reset: status " + hex(p.read(BAR4 + 0x14, 1)) + " actual " + hex(p.read(BAR4 + 0x2004, 4))
                + " num_pages " + hex(p.read(BAR4 + 0x2000, 4)) + " poison " + hex(p.read(BAR4 + 0x200c, 4))
                + " query-balloon " + p.actual());
    }

    /** Makes descriptor d (len bytes at addr, flags) available as the next buffer of queue q and kicks. */
    static void post(Side p, int q, int d, long addr, int len, int flags, int availIdx) throws IOException {
        long desc = DESC + q * STRIDE + 16L * d;
        p.write(desc, 8, addr);
        p.write(desc + 8, 4, len);
        p.write(desc + 12, 2, flags);
        p.write(desc + 14, 2, 0);
        long avail = AVAIL + q * STRIDE;
        p.write(avail + 4 + 2L * (availIdx % QSIZE), 2, d);
        p.write(avail + 2, 2, availIdx + 1);
        p.write(BAR4 + 0x3000 + 4L * q, 2, q);
    }

    static int submit(Side p, List<String> out, int q, int used, int d, long addr, int len, int flags)
            throws Exception {
        post(p, q, d, addr, len, flags, used);
        awaitUsed(p, q, used + 1);
        long u = USED + q * STRIDE;
        out.add("queue " + q + " desc " + d + " len " + len + ": used idx " + hex(p.read(u + 2, 2)) + " id "
                + hex(p.read(u + 4 + 8L * (used % QSIZE), 4)) + " len " + hex(p.read(u + 8 + 8L * (used % QSIZE), 4))
                + " status " + hex(p.read(BAR4 + 0x14, 1)));
        return used + 1;
    }

    static void awaitUsed(Side p, int q, int idx) throws Exception {
        long end = System.nanoTime() + 3_000_000_000L;
        while (p.read(USED + q * STRIDE + 2, 2) != idx && System.nanoTime() < end) {
            Thread.sleep(1);
        }
    }

    @Test
    void sameAsQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        List<String> qemu = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        Path dir = Files.createTempDirectory("jvmm-balloon");
        Path sock = dir.resolve("qmp.sock");
        // A firmware of hlt instructions: after "cont" the CPU halts at the reset vector (interrupts off) and
        // nothing touches the device or RAM, but QEMU's virtual clock runs, and with it the stats timer.
        Path bios = dir.resolve("hlt.bin");
        byte[] hlt = new byte[65536];
        java.util.Arrays.fill(hlt, (byte) 0xf4);
        Files.write(bios, hlt);
        try (Qtest q = Qtest.start("-S", "-bios", bios.toString(), "-m", "128", "-qmp", "unix:" + sock + ",server=on,wait=off",
                "-device", "virtio-balloon-pci,disable-legacy=on,addr=4,id=bal0");
             QemuSide side = new QemuSide(q, sock)) {
            script(side, qemu);
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(bios);
            Files.deleteIfExists(dir);
        }
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try (GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)))) {
            List<Long> changes = new CopyOnWriteArrayList<>();
            VirtualClock clock = new VirtualClock(System::nanoTime, timers);
            clock.resume();
            VirtioBalloon b = new VirtioBalloon(VirtioBalloonOptions.defaults("bal0"), RAM, changes::add, clock);
            VirtioPciTransport t = VirtioBalloon.pci(mem, b, new VirtioGuest.RecordingMsi(), null);
            try {
                script(new OurSide(t, b, mem, changes), ours);
            } finally {
                t.close();
                timers.shutdownNow();
            }
        }
        String dump = System.getProperty("jvmm.virtio.dump");
        if (dump != null) {
            Files.write(Path.of(dump + "balloon.qemu"), qemu);
            Files.write(Path.of(dump + "balloon.ours"), ours);
        }
        assertEquals(qemu.size(), ours.size());
        for (int i = 0; i < qemu.size(); i++) {
            assertEquals(qemu.get(i), ours.get(i), "step " + i);
        }
    }

    static String statsText(long lastUpdate, List<Long> values) {
        StringBuilder sb = new StringBuilder(lastUpdate == 0 ? "never" : "updated");
        for (int i = 0; i < values.size(); i++) {
            sb.append(' ').append(VirtioBalloon.STAT_NAMES.get(i)).append('=').append(Long.toUnsignedString(values.get(i)));
        }
        return sb.toString();
    }

    static final class QemuSide implements Side, AutoCloseable {
        private final VirtioPciQtestComparisonTest.QemuPort port;
        private final SocketChannel ch;
        private final BufferedReader in;
        private final Writer w;
        private final List<Long> changes = new ArrayList<>();

        QemuSide(Qtest q, Path sock) throws Exception {
            this.port = new VirtioPciQtestComparisonTest.QemuPort(q);
            SocketChannel c = null;
            for (int i = 0; i < 200 && c == null; i++) {
                try {
                    c = SocketChannel.open(StandardProtocolFamily.UNIX);
                    c.connect(UnixDomainSocketAddress.of(sock));
                } catch (IOException e) {
                    c = null;
                    Thread.sleep(25);
                }
            }
            if (c == null) {
                throw new IOException("no QMP socket at " + sock);
            }
            ch = c;
            in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            w = new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8);
            in.readLine();
            qmp("{\"execute\":\"qmp_capabilities\"}");
        }

        /** Sends a command; returns the reply line, keeping BALLOON_CHANGE events seen on the way. */
        String qmp(String cmd) throws IOException {
            w.write(cmd + "\n");
            w.flush();
            while (true) {
                String l = in.readLine();
                if (l == null) {
                    throw new IOException("QMP closed");
                }
                Matcher m = Pattern.compile("\"BALLOON_CHANGE\".*\"actual\": (\\d+)").matcher(l);
                if (m.find()) {
                    changes.add(Long.parseLong(m.group(1)));
                }
                if (l.contains("\"return\"") || l.contains("\"error\"")) {
                    return l;
                }
            }
        }

        @Override
        public long cfgRead(int reg, int size) throws IOException {
            return port.cfgRead(reg, size);
        }

        @Override
        public void cfgWrite(int reg, int size, long v) throws IOException {
            port.cfgWrite(reg, size, v);
        }

        @Override
        public long read(long addr, int size) throws IOException {
            return port.read(addr, size);
        }

        @Override
        public void write(long addr, int size, long v) throws IOException {
            port.write(addr, size, v);
        }

        @Override
        public void balloon(long target) throws IOException {
            qmp("{\"execute\":\"balloon\",\"arguments\":{\"value\":" + target + "}}");
        }

        @Override
        public long actual() throws IOException {
            Matcher m = Pattern.compile("\"actual\": (-?\\d+)").matcher(qmp("{\"execute\":\"query-balloon\"}"));
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        @Override
        public void pollInterval(long seconds) throws IOException {
            qmp("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"/machine/peripheral/bal0\",\"property\":"
                    + "\"guest-stats-polling-interval\",\"value\":" + seconds + "}}");
        }

        @Override
        public String stats() throws IOException {
            String r = qmp("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/bal0\","
                    + "\"property\":\"guest-stats\"}}");
            List<Long> values = new ArrayList<>();
            for (String name : VirtioBalloon.STAT_NAMES) {
                Matcher m = Pattern.compile("\"" + name + "\": (\\d+)").matcher(r);
                values.add(m.find() ? Long.parseUnsignedLong(m.group(1)) : -2);
            }
            Matcher m = Pattern.compile("\"last-update\": (\\d+)").matcher(r);
            return statsText(m.find() ? Long.parseLong(m.group(1)) : -1, values);
        }

        @Override
        public void tick() throws IOException {
            qmp("{\"execute\":\"cont\"}");
        }

        @Override
        public List<Long> balloonChanges() throws Exception {
            // QEMU's monitor holds a second BALLOON_CHANGE within a second back (the rate limit, done by
            // jvmm's QMP layer and not by the device): wait it out, then flush events sent before now
            Thread.sleep(1100);
            qmp("{\"execute\":\"query-status\"}");
            return new ArrayList<>(changes);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    static final class OurSide extends VirtioPciQtestComparisonTest.OurPort implements Side {
        final VirtioBalloon b;
        final List<Long> changes;

        OurSide(VirtioPciTransport t, VirtioBalloon b, GuestMemory mem, List<Long> changes) {
            super(t, mem);
            this.b = b;
            this.changes = changes;
        }

        @Override
        public void balloon(long target) {
            b.setTarget(target);
        }

        @Override
        public long actual() {
            return b.actualBytes();
        }

        @Override
        public void pollInterval(long seconds) {
            b.setStatsPollInterval(seconds);
        }

        @Override
        public String stats() throws IOException {
            long end = System.nanoTime() + 2_000_000_000L;
            // our device thread takes the buffer asynchronously; QEMU's qtest write runs it synchronously
            VirtioBalloon.GuestStats s = b.guestStats();
            while (mem.readShort(AVAIL + 2 * STRIDE + 2) != 0 && s.lastUpdate() == 0 && System.nanoTime() < end) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                s = b.guestStats();
            }
            List<Long> values = new ArrayList<>();
            for (long v : s.stats()) {
                values.add(v);
            }
            return statsText(s.lastUpdate(), values);
        }

        @Override
        public void tick() {
            // our timer runs on the host clock: the first poll comes at once
        }

        @Override
        public List<Long> balloonChanges() {
            return new ArrayList<>(changes);
        }
    }
}
