package dev.jvmm.devices.ide;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;

import java.util.ArrayList;
import java.util.List;

/** A PIIX3 IDE on a port bus with 16 MiB of RAM, driven the way a guest driver does. */
final class IdeGuest implements AutoCloseable {
    static final int RAM = 16 << 20;
    static final int BM = 0xc000;
    final PioBus pio = new PioBus();
    final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    final boolean[] level = new boolean[16];
    final List<String> irqLog = new ArrayList<>();
    final Piix3Ide ide;

    IdeGuest() {
        ide = new Piix3Ide(mem, line(14), line(15));
        ide.attach(pio);
        pio.register(BM, 16, ide.busMasterHandler());
    }

    private IrqLine line(int n) {
        return high -> {
            if (level[n] != high) {
                level[n] = high;
                irqLog.add("IRQ " + (high ? "raise " : "lower ") + n);
            }
        };
    }

    static int cmdBase(int ch) {
        return ch == 0 ? 0x1f0 : 0x170;
    }

    static int ctlPort(int ch) {
        return ch == 0 ? 0x3f6 : 0x376;
    }

    int in(int port) {
        return (int) pio.read(port, 1);
    }

    void out(int port, int v) {
        pio.write(port, 1, v);
    }

    int inw(int port) {
        return (int) pio.read(port, 2);
    }

    void outw(int port, int v) {
        pio.write(port, 2, v);
    }

    /** Error .. Status of channel ch, status read last (which lowers INTRQ). */
    int[] regs(int ch) {
        int b = cmdBase(ch);
        int[] r = new int[7];
        for (int i = 1; i <= 7; i++) {
            r[i - 1] = in(b + i);
        }
        return r;
    }

    int altStatus(int ch) {
        return in(ctlPort(ch));
    }

    int status(int ch) {
        return in(cmdBase(ch) + 7);
    }

    int error(int ch) {
        return in(cmdBase(ch) + 1);
    }

    /** LBA28 task file then command. */
    void lba28(int ch, int dev, long lba, int count, int cmd) {
        int b = cmdBase(ch);
        out(b + 6, 0xe0 | dev << 4 | (int) (lba >>> 24) & 0xf);
        out(b + 2, count);
        out(b + 3, (int) lba & 0xff);
        out(b + 4, (int) (lba >>> 8) & 0xff);
        out(b + 5, (int) (lba >>> 16) & 0xff);
        out(b + 7, cmd);
    }

    /** LBA48 task file (high bytes first) then command. */
    void lba48(int ch, int dev, long lba, int count, int cmd) {
        int b = cmdBase(ch);
        out(b + 6, 0xe0 | dev << 4);
        out(b + 2, count >>> 8);
        out(b + 3, (int) (lba >>> 24) & 0xff);
        out(b + 4, (int) (lba >>> 32) & 0xff);
        out(b + 5, (int) (lba >>> 40) & 0xff);
        out(b + 2, count & 0xff);
        out(b + 3, (int) lba & 0xff);
        out(b + 4, (int) (lba >>> 8) & 0xff);
        out(b + 5, (int) (lba >>> 16) & 0xff);
        out(b + 7, cmd);
    }

    byte[] readPio(int ch, int bytes) {
        byte[] d = new byte[bytes];
        for (int i = 0; i < bytes; i += 2) {
            int w = inw(cmdBase(ch));
            d[i] = (byte) w;
            d[i + 1] = (byte) (w >>> 8);
        }
        return d;
    }

    void writePio(int ch, byte[] d) {
        for (int i = 0; i < d.length; i += 2) {
            outw(cmdBase(ch), (d[i] & 0xff) | (d[i + 1] & 0xff) << 8);
        }
    }

    int[] words(byte[] d) {
        int[] w = new int[d.length / 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = (d[2 * i] & 0xff) | (d[2 * i + 1] & 0xff) << 8;
        }
        return w;
    }

    /** Writes a PRD table at table: pairs of (address, byteCount); the last gets EOT when eot. */
    void prds(long table, boolean eot, long... addrLen) {
        for (int i = 0; i < addrLen.length; i += 2) {
            boolean last = i + 2 >= addrLen.length;
            mem.writeInt(table + 4L * i, (int) addrLen[i]);
            mem.writeInt(table + 4L * i + 4, (int) addrLen[i + 1] | (last && eot ? BusMasterDma.PRD_EOT : 0));
        }
    }

    int bm(int ch) {
        return BM + 8 * ch;
    }

    void bmSetup(int ch, long table, boolean toMemory) {
        pio.write(bm(ch) + 4, 4, table);
        out(bm(ch), toMemory ? BusMasterDma.CMD_WRITE_TO_MEMORY : 0);
    }

    void bmStart(int ch, boolean toMemory) {
        out(bm(ch), BusMasterDma.CMD_START | (toMemory ? BusMasterDma.CMD_WRITE_TO_MEMORY : 0));
    }

    int bmStatus(int ch) {
        return in(bm(ch) + 2);
    }

    /** Sends a 12-byte CDB with PACKET (PIO, byte count limit bcl, or DMA) and returns data read by PIO. */
    byte[] packet(int ch, int dev, int[] cdb, int bcl, boolean dma) {
        int b = cmdBase(ch);
        out(b + 6, 0xa0 | dev << 4);
        out(b + 1, dma ? 1 : 0);
        out(b + 4, bcl & 0xff);
        out(b + 5, bcl >>> 8);
        out(b + 7, 0xa0);
        int[] c = java.util.Arrays.copyOf(cdb, 12);
        for (int i = 0; i < 12; i += 2) {
            outw(b, c[i] | c[i + 1] << 8);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (!dma && (altStatus(ch) & IdeDevice.STATUS_DRQ) != 0) {
            int n = in(b + 4) | in(b + 5) << 8;
            out.writeBytes(readPio(ch, n + (n & 1)));
        }
        return out.toByteArray();
    }

    @Override
    public void close() {
        mem.close();
    }
}
