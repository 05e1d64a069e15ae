package dev.jvmm.devices.virtio;

import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The expansion ROM BAR of a virtio-balloon-pci with a romfile, under QEMU 7.2 (qtest, CPU stopped) and
 * jvmm: the ROM register through sizing, garbage and partial writes, and the ROM's contents through the
 * enabled BAR (reads, and writes that must not stick), step by step.
 */
class OptionRomQtestComparisonTest {
    static final int SLOT = 4;
    static final long ROM_BASE = 0xfeb0_0000L;
    /** 1500 bytes: a 2 KiB ROM, the tail zero. */
    static final int FILE_SIZE = 1500;

    @TempDir
    Path dir;

    /** A config access: "cfgr REG SIZE" or "cfgw REG SIZE VALUE"; memory: "readX ADDR", "writeX ADDR VALUE". */
    static List<String> script() {
        List<String> s = new ArrayList<>();
        s.add("cfgr 0x30 4");
        for (long v : new long[] {0xffff_ffffL, 0xffff_fffeL, 0x1234_5ffeL, 0x0000_0001L, 0L}) {
            s.add("cfgw 0x30 4 0x" + Long.toHexString(v));
            s.add("cfgr 0x30 4");
        }
        s.addAll(List.of("cfgw 0x31 1 0xff", "cfgr 0x30 4", "cfgw 0x31 1 0x00", "cfgw 0x32 2 0xfeb0", "cfgr 0x30 4",
                "cfgw 0x30 1 0x01", "cfgr 0x30 4", "cfgr 0x30 1", "cfgr 0x32 2",
                // memory decoding on: the ROM answers at 0xfeb00000
                "cfgw 0x04 2 0x0002", "cfgr 0x04 2"));
        String base = "0x" + Long.toHexString(ROM_BASE);
        s.addAll(List.of("readw " + base, "readb 0x" + Long.toHexString(ROM_BASE + 2),
                "readl 0x" + Long.toHexString(ROM_BASE + 0x100), "readq 0x" + Long.toHexString(ROM_BASE + 0x200),
                "readl 0x" + Long.toHexString(ROM_BASE + FILE_SIZE), "readl 0x" + Long.toHexString(ROM_BASE + 0x7fc),
                "writel 0x" + Long.toHexString(ROM_BASE + 0x100) + " 0xdeadbeef",
                "readl 0x" + Long.toHexString(ROM_BASE + 0x100)));
        return s;
    }

    static byte[] romFile() {
        byte[] b = new byte[FILE_SIZE];
        b[0] = 0x55;
        b[1] = (byte) 0xaa;
        b[2] = (byte) ((FILE_SIZE + 511) / 512);
        for (int i = 3; i < b.length; i++) {
            b[i] = (byte) (i * 13 + 1);
        }
        return b;
    }

    static String device(Path rom) {
        return "virtio-balloon-pci,disable-legacy=on,addr=" + SLOT + ",romfile=" + rom;
    }

    static List<String> toQtest(List<String> script) {
        List<String> out = new ArrayList<>();
        for (String line : script) {
            String[] w = line.split(" ");
            if (w[0].startsWith("cfg")) {
                int reg = Integer.decode(w[1]);
                int size = Integer.parseInt(w[2]);
                out.add(String.format("outl 0xcf8 0x%x", 0x8000_0000 | SLOT << 11 | reg & ~3));
                String port = "0x" + Integer.toHexString(0xcfc + (reg & 3));
                String op = size == 1 ? "b" : size == 2 ? "w" : "l";
                out.add(w[0].equals("cfgr") ? "in" + op + " " + port : "out" + op + " " + port + " " + w[3]);
            } else {
                out.add(line);
            }
        }
        return out;
    }

    List<Long> runQemu(Path rom) throws Exception {
        List<String> q = toQtest(script());
        List<Long> out = new ArrayList<>();
        try (Qtest qemu = Qtest.start("-S", "-m", "128", "-device", device(rom))) {
            List<String> answers = qemu.commands(q);
            for (int i = 0; i < q.size(); i++) {
                if (q.get(i).startsWith("in") || q.get(i).startsWith("read")) {
                    out.add(Long.parseUnsignedLong(answers.get(i).substring(2), 16));
                }
            }
        }
        return out;
    }

    List<Long> runOurs(Path rom) {
        List<Long> out = new ArrayList<>();
        try (TestBoard b = new TestBoard()) {
            b.add(device(rom));
            int devfn = SLOT << 3;
            for (String line : script()) {
                String[] w = line.split(" ");
                switch (w[0]) {
                    case "cfgr" -> out.add(b.pci.readConfig(0, devfn, Integer.decode(w[1]), Integer.parseInt(w[2]))
                            & 0xffff_ffffL);
                    case "cfgw" -> b.pci.writeConfig(0, devfn, Integer.decode(w[1]), Integer.parseInt(w[2]),
                            (int) Long.parseLong(w[3].substring(2), 16));
                    default -> {
                        int size = w[0].endsWith("q") ? 8 : Qtest.accessSize(w[0]);
                        long addr = Long.decode(w[1]);
                        if (w[0].startsWith("read")) {
                            long v = b.mmio.read(addr, size);
                            out.add(size == 8 ? v : v & ((1L << (8 * size)) - 1));
                        } else {
                            b.mmio.write(addr, size, Long.decode(w[2]));
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void romBarMatchesQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        Path rom = Files.write(dir.resolve("test.rom"), romFile());
        List<Long> qemu = runQemu(rom);
        List<Long> ours = runOurs(rom);
        List<String> reads = script().stream().filter(l -> l.startsWith("cfgr") || l.startsWith("read")).toList();
        assertEquals(qemu.size(), ours.size());
        for (int i = 0; i < qemu.size(); i++) {
            assertEquals(String.format("0x%x", qemu.get(i)), String.format("0x%x", ours.get(i)),
                    "read #" + i + " (" + reads.get(i) + ")");
        }
    }
}
