package dev.jvmm.devices.ide;

import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciHostBridge;
import dev.jvmm.devices.pci.PciInterruptRouter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One script of port and memory accesses run against QEMU 7.2's pc machine (qtest, CPU stopped, a raw disk
 * at ide0-hd0 and an ISO at ide1-cd0) and against our Piix3Ide with the same contents: every value read
 * and every IRQ 14/15 edge must match. Covers register values after reset, IDENTIFY (PACKET) DEVICE, the
 * ATAPI replies (INQUIRY, READ CAPACITY, MODE SENSE, GET CONFIGURATION, READ TOC, GESN, sense data), PIO
 * and DMA reads and writes, error paths, SRST and the function's PCI configuration space.
 */
class IdeQemuQtestComparisonTest {
    static final long DISK = 64L << 20;
    static final int CD_SECTORS = 300;
    static final int RAM = 128 << 20;

    static byte diskByte(long sector, int i) {
        return (byte) (sector * 7 + i * 3 + (i >> 8));
    }

    static byte cdByte(long block, int i) {
        return (byte) (block * 11 + i * 5 + (i >> 9));
    }

    static List<String> script() {
        List<String> s = new ArrayList<>();
        // registers after reset, both channels, master and slave
        for (int base : new int[]{0x1f0, 0x170}) {
            for (int dev : new int[]{0xb0, 0xa0}) {
                s.add(out("b", base + 6, dev));
                for (int r = 1; r <= 7; r++) {
                    s.add(in("b", base + r));
                }
                s.add(in("b", base == 0x1f0 ? 0x3f6 : 0x376));
                s.add(in("w", base));
                s.add(in("b", base));
            }
        }
        // IDENTIFY DEVICE on the disk; IDENTIFY DEVICE and IDENTIFY PACKET DEVICE on the CD
        identify(s, 0x1f0, 0xec);
        s.add(out("b", 0x176, 0xa0));
        s.add(out("b", 0x177, 0xec));
        regs(s, 0x170);
        identify(s, 0x170, 0xa1);
        // PIO: read 3 sectors, write 2 with WRITE MULTIPLE, read them back with READ SECTORS EXT
        lba28(s, 0x1f0, 2, 3, 0x20);
        for (int i = 0; i < 3; i++) {
            s.add("sleep 20");
            s.add(in("b", 0x3f6));
            data(s, 0x1f0, 256);
            regs(s, 0x1f0);
        }
        lba28(s, 0x1f0, 40, 2, 0xc5);
        s.add(in("b", 0x3f6));
        for (int i = 0; i < 512; i++) {
            s.add(out("w", 0x1f0, 0x1000 + i * 3));
            if (i == 255) {
                s.add("sleep 20");
            }
        }
        s.add("sleep 20");
        regs(s, 0x1f0);
        s.add(out("b", 0x1f6, 0xe0));
        s.add(out("b", 0x1f2, 0));
        s.add(out("b", 0x1f3, 0));
        s.add(out("b", 0x1f4, 0));
        s.add(out("b", 0x1f5, 0));
        lba28(s, 0x1f0, 40, 2, 0x24);
        s.add("sleep 20");
        data(s, 0x1f0, 256);
        s.add("sleep 20");
        data(s, 0x1f0, 256);
        regs(s, 0x1f0);
        s.add(out("b", 0x3f6, 0x80));
        regs(s, 0x1f0);
        s.add(out("b", 0x3f6, 0x00));
        // errors: past the end, unknown command, bad SET MULTIPLE, SET FEATURES then IDENTIFY words
        lba28(s, 0x1f0, DISK / 512, 1, 0x20);
        s.add("sleep 20");
        regs(s, 0x1f0);
        s.add(out("b", 0x1f7, 0xff));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f2, 3));
        s.add(out("b", 0x1f7, 0xc6));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f1, 0x03));
        s.add(out("b", 0x1f2, 0x22));
        s.add(out("b", 0x1f7, 0xef));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f1, 0x82));
        s.add(out("b", 0x1f7, 0xef));
        s.add("sleep 20");
        regs(s, 0x1f0);
        identify(s, 0x1f0, 0xec);
        s.add(out("b", 0x1f7, 0xe5));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f7, 0xe1));
        regs(s, 0x1f0);
        // INITIALIZE DEVICE PARAMETERS (4 heads, 17 sectors), then a CHS read of cylinder 0 head 1 sector 1
        s.add(out("b", 0x1f6, 0xa3));
        s.add(out("b", 0x1f2, 17));
        s.add(out("b", 0x1f7, 0x91));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f6, 0xa1));
        s.add(out("b", 0x1f2, 1));
        s.add(out("b", 0x1f3, 1));
        s.add(out("b", 0x1f4, 0));
        s.add(out("b", 0x1f5, 0));
        s.add(out("b", 0x1f7, 0x20));
        s.add("sleep 20");
        data(s, 0x1f0, 256);
        regs(s, 0x1f0);
        // slave absent: commands are ignored
        s.add(out("b", 0x1f6, 0xb0));
        s.add(out("b", 0x1f7, 0xec));
        regs(s, 0x1f0);
        s.add(out("b", 0x1f6, 0xa0));
        // ATAPI over PIO
        atapi(s, 0xfffe, 0x00);
        atapi(s, 0xfffe, 0x12, 0, 0, 0, 96);
        atapi(s, 0xfffe, 0x12, 1, 0x83, 0, 96);
        atapi(s, 0xfffe, 0x25);
        atapi(s, 0xfffe, 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64);
        atapi(s, 0xfffe, 0x5a, 0, 0x01, 0, 0, 0, 0, 0, 64);
        atapi(s, 0xfffe, 0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 64);
        atapi(s, 0xfffe, 0x03, 0, 0, 0, 18);
        atapi(s, 0xfffe, 0x46, 0, 0, 0, 0, 0, 0, 0, 64);
        atapi(s, 0xfffe, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8);
        atapi(s, 0xfffe, 0x43, 0, 0, 0, 0, 0, 0, 0, 64, 0);
        atapi(s, 0xfffe, 0x43, 2, 0, 0, 0, 0, 1, 0, 64, 0x80);
        atapi(s, 0xfffe, 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8);
        atapi(s, 0xfffe, 0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0xf8);
        atapi(s, 0xfffe, 0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0x10);
        atapi(s, 0xfffe, 0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0x08);
        atapi(s, 0xfffe, 0xad, 0, 0, 0, 0, 0, 0, 0, 0, 8);
        atapi(s, 0xfffe, 0x03, 0, 0, 0, 18);
        atapi(s, 1000, 0x28, 0, 0, 0, 0, 1, 0, 0, 2);
        atapi(s, 0xfffe, 0x28, 0, 0, 0, 1, 0x2c, 0, 0, 1);
        atapi(s, 0xfffe, 0x03, 0, 0, 0, 18);
        atapi(s, 0xfffe, 0xee);
        atapi(s, 0xfffe, 0x03, 0, 0, 0, 18);
        atapi(s, 0, 0x12, 0, 0, 0, 96);
        atapi(s, 0xfffe, 0x1e, 0, 0, 0, 1);
        atapi(s, 0xfffe, 0x1b, 0, 0, 0, 2);
        atapi(s, 0xfffe, 0x03, 0, 0, 0, 18);
        atapi(s, 0xfffe, 0x1e, 0, 0, 0, 0);
        atapi(s, 0xfffe, 0x1b, 0, 0, 0, 2);
        atapi(s, 0xfffe, 0x00);
        atapi(s, 0xfffe, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8);
        atapi(s, 0xfffe, 0x1b, 0, 0, 0, 3);
        atapi(s, 0xfffe, 0x00);
        // bus-master DMA: BAR4 at 0xc000, I/O and bus master enabled
        s.add(out("l", 0xcf8, 0x80000920));
        s.add(out("l", 0xcfc, 0xc001));
        s.add(out("l", 0xcf8, 0x80000904));
        s.add(out("w", 0xcfc, 0x0005));
        // disk READ DMA of 4 sectors through two PRDs, then WRITE DMA of 2, then read them back
        s.add("writel 0x1000 0x20000");
        s.add("writel 0x1004 0x400");
        s.add("writel 0x1008 0x30000");
        s.add("writel 0x100c 0x80000400");
        s.add(out("l", 0xc004, 0x1000));
        s.add(out("b", 0xc000, 0x08));
        lba28(s, 0x1f0, 4, 4, 0xc8);
        s.add(in("b", 0x3f6));
        s.add(out("b", 0xc000, 0x09));
        s.add("sleep 50");
        s.add(in("b", 0xc002));
        regs(s, 0x1f0);
        s.add(out("b", 0xc000, 0x08));
        s.add(out("b", 0xc002, 0x06));
        s.add(in("b", 0xc002));
        s.add("read 0x20000 0x400");
        s.add("read 0x30000 0x400");
        s.add("writel 0x1004 0x80000400");
        s.add(out("b", 0xc000, 0x00));
        lba28(s, 0x1f0, 60, 2, 0xca);
        s.add(out("b", 0xc000, 0x01));
        s.add("sleep 50");
        s.add(in("b", 0xc002));
        regs(s, 0x1f0);
        s.add(out("b", 0xc000, 0x00));
        s.add(out("b", 0xc002, 0x06));
        lba28(s, 0x1f0, 60, 2, 0x20);
        s.add("sleep 20");
        data(s, 0x1f0, 256);
        s.add("sleep 20");
        data(s, 0x1f0, 256);
        regs(s, 0x1f0);
        // a PRD table longer than the transfer leaves Active set; one too short ends without an interrupt
        s.add("writel 0x1004 0x400");
        s.add("writel 0x100c 0x80000400");
        lba28(s, 0x1f0, 0, 1, 0xc8);
        s.add(out("b", 0xc000, 0x09));
        s.add("sleep 50");
        s.add(in("b", 0xc002));
        regs(s, 0x1f0);
        s.add(out("b", 0xc000, 0x08));
        s.add(out("b", 0xc002, 0x06));
        lba28(s, 0x1f0, 0, 6, 0xc8);
        s.add(out("b", 0xc000, 0x09));
        s.add("sleep 50");
        s.add(in("b", 0xc002));
        regs(s, 0x1f0);
        s.add(out("b", 0xc000, 0x08));
        // DMA past the end of the disk
        lba28(s, 0x1f0, DISK / 512 - 1, 2, 0xc8);
        s.add(out("b", 0xc000, 0x09));
        s.add("sleep 50");
        s.add(in("b", 0xc002));
        regs(s, 0x1f0);
        s.add(out("b", 0xc000, 0x08));
        s.add(out("b", 0xc002, 0x06));
        // ATAPI READ(10) by DMA on the secondary channel
        s.add("writel 0x1010 0x40000");
        s.add("writel 0x1014 0x80001000");
        s.add(out("l", 0xc00c, 0x1010));
        s.add(out("b", 0xc008, 0x08));
        s.add(out("b", 0x176, 0xa0));
        s.add(out("b", 0x171, 0x01));
        s.add(out("b", 0x177, 0xa0));
        cdb(s, 0x28, 0, 0, 0, 0, 3, 0, 0, 2);
        s.add(out("b", 0xc008, 0x09));
        s.add("sleep 50");
        s.add(in("b", 0xc00a));
        regs(s, 0x170);
        s.add("read 0x40000 0x1000");
        s.add(out("b", 0xc008, 0x08));
        // SRST on both channels
        s.add(out("b", 0x3f6, 0x04));
        s.add(out("b", 0x3f6, 0x00));
        s.add("sleep 20");
        regs(s, 0x1f0);
        s.add(out("b", 0x376, 0x04));
        s.add(out("b", 0x376, 0x00));
        s.add("sleep 20");
        regs(s, 0x170);
        // the function's configuration space, then all-ones writes to every register
        for (int reg = 0; reg < 256; reg += 4) {
            s.add(out("l", 0xcf8, 0x80000900 | reg));
            s.add(in("l", 0xcfc));
        }
        for (int reg = 0; reg < 256; reg += 4) {
            s.add(out("l", 0xcf8, 0x80000900 | reg));
            s.add(out("l", 0xcfc, 0xffffffffL));
            s.add(in("l", 0xcfc));
        }
        return s;
    }

    static String in(String w, int port) {
        return "in" + w + " 0x" + Integer.toHexString(port);
    }

    static String out(String w, long port, long v) {
        return "out" + w + " 0x" + Long.toHexString(port) + " 0x" + Long.toHexString(v & 0xffff_ffffL);
    }

    static void regs(List<String> s, int base) {
        for (int r = 1; r <= 7; r++) {
            s.add(in("b", base + r));
        }
    }

    /** Reads a DRQ block, then waits: the device may start its next (asynchronous in QEMU) read. */
    static void data(List<String> s, int base, int words) {
        for (int i = 0; i < words; i++) {
            s.add(in("w", base));
        }
        s.add("sleep 20");
    }

    static void identify(List<String> s, int base, int cmd) {
        s.add(out("b", base + 6, 0xa0));
        s.add(out("b", base + 7, cmd));
        s.add("sleep 10");
        s.add(in("b", base + 0x206));
        data(s, base, 256);
        regs(s, base);
    }

    static void lba28(List<String> s, int base, long lba, int count, int cmd) {
        s.add(out("b", base + 6, 0xe0 | (int) (lba >>> 24) & 0xf));
        s.add(out("b", base + 2, count));
        s.add(out("b", base + 3, lba & 0xff));
        s.add(out("b", base + 4, (lba >>> 8) & 0xff));
        s.add(out("b", base + 5, (lba >>> 16) & 0xff));
        s.add(out("b", base + 7, cmd));
    }

    static void cdb(List<String> s, int... c) {
        int[] b = java.util.Arrays.copyOf(c, 12);
        for (int i = 0; i < 12; i += 2) {
            s.add(out("w", 0x170, b[i] | b[i + 1] << 8));
        }
    }

    /** A PIO packet command: the reply is read in DRQ blocks of what the device announces. */
    static void atapi(List<String> s, int bcl, int... c) {
        s.add(out("b", 0x176, 0xa0));
        s.add(out("b", 0x171, 0));
        s.add(out("b", 0x174, bcl & 0xff));
        s.add(out("b", 0x175, bcl >>> 8));
        s.add(out("b", 0x177, 0xa0));
        s.add(in("b", 0x376));
        s.add(in("b", 0x172));
        cdb(s, c);
        s.add("sleep 10");
        s.add("atapi-drain");
        regs(s, 0x170);
    }

    // ---- runners --------------------------------------------------------------------------------

    interface Target {
        String run(String cmd) throws Exception;

        List<String> irqs();
    }

    /**
     * Values read, in order. IRQ edges are collected at the script's sleeps (QEMU completes disk I/O
     * asynchronously, ours synchronously), so the script sleeps after anything that starts I/O.
     */
    static List<String> run(List<String> script, Target t) throws Exception {
        List<String> events = new ArrayList<>();
        for (String cmd : script) {
            if (cmd.startsWith("sleep")) {
                t.run(cmd);
                t.run("inb 0x80"); // lets qtest deliver pending IRQ lines
                events.addAll(t.irqs());
                continue;
            }
            if (cmd.equals("atapi-drain")) {
                // read DRQ blocks while the device has data: byte count from LBA mid/high
                for (int guard = 0; guard < 64; guard++) {
                    long st = Long.decode(t.run("inb 0x376"));
                    events.add("drain status = 0x" + Long.toHexString(st));
                    if ((st & 0x08) == 0) {
                        break;
                    }
                    int n = (int) (Long.decode(t.run("inb 0x174")) | Long.decode(t.run("inb 0x175")) << 8);
                    StringBuilder sb = new StringBuilder("block " + n + ":");
                    for (int i = 0; i < (n + 1) / 2; i++) {
                        sb.append(' ').append(Long.toHexString(Long.decode(t.run("inw 0x170"))));
                    }
                    events.add(sb.toString());
                }
                continue;
            }
            String v = t.run(cmd);
            if (cmd.startsWith("in") || cmd.startsWith("read")) {
                events.add(cmd + " = " + normalize(v));
            }
        }
        return events;
    }

    static String normalize(String v) {
        if (v.startsWith("0x") && v.length() <= 18) {
            return "0x" + Long.toHexString(Long.decode(v));
        }
        return v;
    }

    static void writeImages(Path disk, Path iso) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(DISK);
            byte[] b = new byte[512 * 64];
            for (int s = 0; s < 64; s++) {
                for (int i = 0; i < 512; i++) {
                    b[s * 512 + i] = diskByte(s, i);
                }
            }
            f.write(b);
        }
        try (RandomAccessFile f = new RandomAccessFile(iso.toFile(), "rw")) {
            byte[] b = new byte[CD_SECTORS * 2048];
            for (int s = 0; s < CD_SECTORS; s++) {
                for (int i = 0; i < 2048; i++) {
                    b[s * 2048 + i] = cdByte(s, i);
                }
            }
            f.write(b);
        }
    }

    static final class Ours implements Target {
        final PioBus pio = new PioBus();
        final MmioBus mmio = new MmioBus();
        final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
        final List<String> irqLog = new ArrayList<>();
        final boolean[] level = new boolean[16];

        Ours() throws IOException {
            PciInterruptRouter router = new PciInterruptRouter(n -> IrqLine.NONE);
            PciBus bus = new PciBus(router, BarMapper.of(pio, mmio));
            new PciHostBridge(bus).attach(pio);
            Piix3Ide ide = new Piix3Ide(mem, line(14), line(15));
            ide.attach(pio);
            bus.add(Piix3Ide.PC_SLOT, Piix3Ide.PC_FUNCTION, ide);
            FakeBackend disk = new FakeBackend("ide0-hd0", DISK);
            byte[] b = new byte[512 * 64];
            for (int s = 0; s < 64; s++) {
                for (int i = 0; i < 512; i++) {
                    b[s * 512 + i] = diskByte(s, i);
                }
            }
            disk.write(0, ByteBuffer.wrap(b));
            FakeBackend iso = new FakeBackend("ide1-cd0", CD_SECTORS * 2048L);
            byte[] c = new byte[CD_SECTORS * 2048];
            for (int s = 0; s < CD_SECTORS; s++) {
                for (int i = 0; i < 2048; i++) {
                    c[s * 2048 + i] = cdByte(s, i);
                }
            }
            iso.write(0, ByteBuffer.wrap(c));
            ide.bus(0).attach(0, new AtaDrive(disk, "QM00001", null, true));
            ide.bus(1).attach(0, new AtapiCdrom(iso, "QM00003"));
        }

        private IrqLine line(int n) {
            return high -> {
                if (level[n] != high) {
                    level[n] = high;
                    irqLog.add("IRQ " + (high ? "raise " : "lower ") + n);
                }
            };
        }

        @Override
        public String run(String cmd) {
            String[] f = cmd.split(" ");
            switch (f[0]) {
                case "sleep":
                    return "";
                case "writel":
                    mem.writeInt(Long.decode(f[1]), (int) (long) Long.decode(f[2]));
                    return "";
                case "read": {
                    int n = Integer.decode(f[2]);
                    byte[] d = new byte[n];
                    mem.read(Long.decode(f[1]), d, 0, n);
                    return "0x" + java.util.HexFormat.of().formatHex(d);
                }
                default:
                    break;
            }
            int size = Qtest.accessSize(f[0]);
            int port = Integer.decode(f[1]);
            if (f[0].startsWith("in")) {
                long v = pio.read(port, size) & (size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1);
                return "0x" + Long.toHexString(v);
            }
            pio.write(port, size, Long.decode(f[2]));
            return "";
        }

        @Override
        public List<String> irqs() {
            List<String> l = new ArrayList<>(irqLog);
            irqLog.clear();
            return l;
        }
    }

    static final class Qemu implements Target {
        final Qtest q;

        Qemu(Qtest q) {
            this.q = q;
        }

        @Override
        public String run(String cmd) throws Exception {
            if (cmd.startsWith("sleep ")) {
                Thread.sleep(Long.parseLong(cmd.substring(6)));
                return "";
            }
            return q.command(cmd);
        }

        @Override
        public List<String> irqs() {
            return q.takeIrqEvents();
        }
    }

    @Test
    void portConversationMatchesQemu(@TempDir Path dir) throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        Path disk = dir.resolve("disk.img");
        Path iso = dir.resolve("cd.iso");
        writeImages(disk, iso);
        List<String> script = script();
        List<String> qemu;
        try (Qtest q = Qtest.start("-S", "-m", "128", "-snapshot",
                "-drive", "file=" + disk + ",if=ide,format=raw,index=0",
                "-drive", "file=" + iso + ",if=ide,format=raw,media=cdrom,index=2")) {
            q.command("irq_intercept_in ioapic");
            qemu = run(script, new Qemu(q));
        }
        Ours ours = new Ours();
        List<String> mine;
        try {
            mine = run(script, ours);
        } finally {
            ours.mem.close();
        }
        for (int i = 0; i < Math.min(qemu.size(), mine.size()); i++) {
            if (!qemu.get(i).equals(mine.get(i))) {
                assertEquals(String.join("\n", qemu.subList(Math.max(0, i - 8), Math.min(qemu.size(), i + 4))),
                        String.join("\n", mine.subList(Math.max(0, i - 8), Math.min(mine.size(), i + 4))),
                        "event #" + i);
            }
        }
        assertEquals(qemu.size(), mine.size());
    }
}
