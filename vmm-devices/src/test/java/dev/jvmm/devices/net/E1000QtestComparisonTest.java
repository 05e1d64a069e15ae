package dev.jvmm.devices.net;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.OptionRom;
import dev.jvmm.devices.pci.PciBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same driver script against QEMU 7.2's {@code -device e1000,addr=4} (qtest, machine stopped, so neither
 * side's timers run) and against ours: configuration space and BAR sizes, every register word after reset and
 * after writing all ones to each, the interrupt registers and INTx status, every PHY register through MDIC and
 * PHY writes, the EEPROM through EERD and bit-banged through EECD, accesses of odd widths and alignments to
 * BAR0 and BAR1, and a transmit ring with a legacy and a TSO frame (descriptor write-back and statistics).
 * Every value read must match.
 */
@Timeout(300)
class E1000QtestComparisonTest {
    static final int DEVFN = 4 << 3;
    static final long BAR0 = 0xfebc_0000L;
    static final int BAR1 = 0xc000;
    static final Path ROM = Path.of("/usr/lib/ipxe/qemu/efi-e1000.rom");

    interface Side {
        long cfgRead(int reg, int size) throws IOException;

        void cfgWrite(int reg, int size, long v) throws IOException;

        long read(long addr, int size) throws IOException;

        void write(long addr, int size, long v) throws IOException;

        long in(int port, int size) throws IOException;

        void out(int port, int size, long v) throws IOException;

        /** Reads many 32-bit words at once (QEMU: batched commands). */
        default List<Long> readAll(List<Long> addrs) throws IOException {
            List<Long> out = new ArrayList<>();
            for (long a : addrs) {
                out.add(read(a, 4));
            }
            return out;
        }

        default void writeAll(List<Long> addrs, long v) throws IOException {
            for (long a : addrs) {
                write(a, 4, v);
            }
        }
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** Word indexes the ones-write covers: the whole file below PBM, less the registers with actions. */
    static List<Long> writable() {
        List<Long> out = new ArrayList<>();
        List<Integer> skip = List.of(TCTL, TDT, TDBAL, TDBAH, RDBAL, RDBAH, ICS, IMS, ICR, IMC, EECD, MDIC);
        for (int off = 0; off < 0x10000; off += 4) {
            if (!skip.contains(off) && (E1000MacRegs.readOp(off >> 2) != 0 || E1000MacRegs.writeOp(off >> 2) != 0)) {
                out.add(BAR0 + off);
            }
        }
        for (int off = PBM; off < PBM + 64; off += 4) {
            out.add(BAR0 + off);
        }
        return out;
    }

    static void dumpRegisters(Side p, List<String> out, String tag) throws IOException {
        List<Long> addrs = new ArrayList<>();
        for (int off = 0; off < E1000.MMIO_SIZE; off += 4) {
            addrs.add(BAR0 + off);
        }
        List<Long> v = p.readAll(addrs);
        for (int i = 0; i < v.size(); i++) {
            if (v.get(i) != 0) {
                out.add(tag + " reg " + Integer.toHexString(i * 4) + " = " + hex(v.get(i)));
            }
        }
    }

    static void script(Side p, List<String> out) throws IOException {
        for (int reg = 0; reg < 256; reg += 4) {
            out.add("cfg " + Integer.toHexString(reg) + " = " + hex(p.cfgRead(reg, 4)));
        }
        for (int reg : new int[] {0x10, 0x14, 0x18, 0x30}) {
            p.cfgWrite(reg, 4, 0xffff_ffffL);
            out.add("bar size " + Integer.toHexString(reg) + " = " + hex(p.cfgRead(reg, 4)));
            p.cfgWrite(reg, 4, 0);
        }
        p.cfgWrite(0x10, 4, BAR0);
        p.cfgWrite(0x14, 4, BAR1);
        p.cfgWrite(0x04, 2, 0x7);
        out.add("command/status = " + hex(p.cfgRead(0x04, 4)));
        dumpRegisters(p, out, "reset");

        // interrupts: causes, mask, INTx through PCI status
        p.write(BAR0 + ICS, 4, ICR_TXDW | ICR_RXT0);
        out.add("ics " + hex(p.read(BAR0 + ICS, 4)) + " status " + hex(p.cfgRead(0x04, 4)));
        p.write(BAR0 + IMS, 4, ICR_RXT0 | ICR_LSC);
        out.add("ims " + hex(p.read(BAR0 + IMS, 4)) + " status " + hex(p.cfgRead(0x04, 4)));
        out.add("icr " + hex(p.read(BAR0 + ICR, 4)) + " then " + hex(p.read(BAR0 + ICR, 4)) + " status "
                + hex(p.cfgRead(0x04, 4)));
        p.write(BAR0 + ICS, 4, ICR_LSC);
        out.add("held by mitigation: status " + hex(p.cfgRead(0x04, 4)) + " icr " + hex(p.read(BAR0 + ICS, 4)));
        p.write(BAR0 + IMC, 4, ICR_LSC);
        p.write(BAR0 + ICR, 4, ICR_LSC);
        out.add("imc/icr: ims " + hex(p.read(BAR0 + IMS, 4)) + " ics " + hex(p.read(BAR0 + ICS, 4)));

        // PHY
        for (int reg = 0; reg < 32; reg++) {
            p.write(BAR0 + MDIC, 4, 1 << 21 | reg << 16 | MDIC_OP_READ);
            out.add("phy " + reg + " = " + hex(p.read(BAR0 + MDIC, 4)));
        }
        p.write(BAR0 + MDIC, 4, 2 << 21 | 1 << 16 | MDIC_OP_READ);
        out.add("phy addr 2 = " + hex(p.read(BAR0 + MDIC, 4)));
        for (int reg : new int[] {0, 1, 4, 9, 0x10, 0x14, 0x15, 0x1f}) {
            p.write(BAR0 + MDIC, 4, 1 << 21 | reg << 16 | MDIC_OP_WRITE | 0xa5a5);
            out.add("phy write " + reg + " mdic " + hex(p.read(BAR0 + MDIC, 4)));
            p.write(BAR0 + MDIC, 4, 1 << 21 | reg << 16 | MDIC_OP_READ);
            out.add("phy " + reg + " after write = " + hex(p.read(BAR0 + MDIC, 4)) + " status "
                    + hex(p.read(BAR0 + STATUS, 4)));
        }
        p.write(BAR0 + MDIC, 4, 1 << 21 | MDIC_OP_WRITE | 0x1340);
        out.add("autoneg restart: status " + hex(p.read(BAR0 + STATUS, 4)));
        p.write(BAR0 + MDIC, 4, 1 << 21 | 1 << 16 | MDIC_OP_READ);
        out.add("bmsr " + hex(p.read(BAR0 + MDIC, 4)));

        // EEPROM
        for (int a = 0; a <= 64; a++) {
            p.write(BAR0 + EERD, 4, a << 8 | 1);
            out.add("eerd " + a + " = " + hex(p.read(BAR0 + EERD, 4)));
        }
        p.write(BAR0 + EERD, 4, 3 << 8);
        out.add("eerd without start = " + hex(p.read(BAR0 + EERD, 4)));
        for (int word = 0; word < 4; word++) {
            StringBuilder trace = new StringBuilder();
            p.write(BAR0 + EECD, 4, 0);
            p.write(BAR0 + EECD, 4, EECD_CS);
            int bits = (word == 3 ? 5 : 6) << 6 | word; // word 3 with a write opcode
            for (int b = 8; b >= 0; b--) {
                int di = (bits >> b & 1) != 0 ? EECD_DI : 0;
                p.write(BAR0 + EECD, 4, EECD_CS | di);
                p.write(BAR0 + EECD, 4, EECD_CS | di | EECD_SK);
                p.write(BAR0 + EECD, 4, EECD_CS | di);
            }
            for (int i = 0; i < 16; i++) {
                p.write(BAR0 + EECD, 4, EECD_CS | EECD_SK);
                trace.append(Long.toHexString(p.read(BAR0 + EECD, 4))).append(' ');
                p.write(BAR0 + EECD, 4, EECD_CS);
            }
            out.add("eecd word " + word + ": " + trace);
        }

        // odd widths and alignments
        for (int off : new int[] {0, 1, 2, 3, 8, 9, 0xa, 0xb, 0x38, 0x39}) {
            out.add("readb " + off + " = " + hex(p.read(BAR0 + off, 1)));
        }
        for (int off : new int[] {0, 1, 2, 8, 0xa, 0x38}) {
            out.add("readw " + off + " = " + hex(p.read(BAR0 + off, 2)));
        }
        for (int off : new int[] {1, 2, 3, 6}) {
            out.add("readl " + off + " = " + hex(p.read(BAR0 + off, 4)));
        }
        out.add("readq 0 = " + hex(p.read(BAR0, 8)));
        out.add("readq 8 = " + hex(p.read(BAR0 + 8, 8)));
        p.write(BAR0 + VET + 1, 1, 0x81);
        out.add("vet after writeb +1 = " + hex(p.read(BAR0 + VET, 4)));
        p.write(BAR0 + VET + 2, 2, 0x1234);
        out.add("vet after writew +2 = " + hex(p.read(BAR0 + VET, 4)));
        p.write(BAR0 + RDTR + 2, 4, 0xaabbccddL);
        out.add("rdtr/rxdctl after unaligned writel = " + hex(p.read(BAR0 + RDTR, 4)) + " "
                + hex(p.read(BAR0 + RDTR + 4, 4)));
        p.write(BAR0 + WUFC, 8, 0x1122334455667788L);
        out.add("wufc after writeq = " + hex(p.read(BAR0 + WUFC, 4)) + " " + hex(p.read(BAR0 + WUFC + 4, 4)));
        p.write(BAR0 + 0x1fffc, 4, 0x5a5a5a5aL);
        out.add("last word = " + hex(p.read(BAR0 + 0x1fffc, 4)));
        for (int off : new int[] {0, 1, 4, 0x3c}) {
            out.add("inl " + off + " = " + hex(p.in(BAR1 + off, 4)) + " inb = " + hex(p.in(BAR1 + off, 1)));
            p.out(BAR1 + off, 4, 0x12345678);
        }

        // transmit: a legacy frame, a bogus context, a TSO frame, then stats
        long ring = 0x10000;
        long buf = 0x20000;
        for (int i = 0; i < 200; i++) {
            p.write(buf + 8L * i, 8, 0x0102030405060708L * (i + 1));
        }
        p.write(buf, 8, 0xffffffffffffL);
        p.write(BAR0 + TDBAL, 4, ring);
        p.write(BAR0 + TDBAH, 4, 0);
        p.write(BAR0 + TDLEN, 4, 128);
        p.write(BAR0 + TDH, 4, 0);
        desc(p, ring, 0, buf, 60 | TXD_CMD_EOP | TXD_CMD_RS, 0);
        ctx(p, ring, 1, 0xff, 0xfe, 0xffff, 0xff, 0xfe, 0, TXD_CMD_DEXT | TXD_CMD_TSE | 0xfffff, 0xff, 0);
        ctx(p, ring, 2, 14, 24, 33, 34, 50, 0, TXD_CMD_DEXT | TXD_CMD_TSE | TXD_CMD_IP | TXD_CMD_TCP | 1000, 54, 400);
        desc(p, ring, 3, buf, 1054 | TXD_CMD_DEXT | TXD_DTYP_D | TXD_CMD_TSE | TXD_CMD_EOP | TXD_CMD_RS,
                (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8);
        desc(p, ring, 4, 0x7fff_0000_0000L, 100 | TXD_CMD_EOP | TXD_CMD_RS, 0);
        desc(p, ring, 5, buf, 0 | TXD_CMD_EOP | TXD_CMD_RS, 0);
        p.write(BAR0 + TCTL, 4, TCTL_EN);
        p.write(BAR0 + TDT, 4, 6);
        out.add("tx: tdh " + hex(p.read(BAR0 + TDH, 4)) + " icr " + hex(p.read(BAR0 + ICS, 4)));
        for (int i = 0; i < 6; i++) {
            out.add("tx desc " + i + " upper " + hex(p.read(ring + 16L * i + 12, 4)));
        }
        for (int r : new int[] {TPT, GPTC, TOTL, TOTH, GOTCL, GOTCH, BPTC, MPTC, PTC64, PTC127, PTC255, PTC511,
                PTC1023, PTC1522, TSCTC}) {
            out.add("stat " + Integer.toHexString(r) + " = " + hex(p.read(BAR0 + r, 4)) + " then "
                    + hex(p.read(BAR0 + r, 4)));
        }
        // an endless ring: TDT beyond TDLEN
        p.write(BAR0 + TDT, 4, 0x100);
        out.add("tdt beyond ring: tdh " + hex(p.read(BAR0 + TDH, 4)) + " tdt " + hex(p.read(BAR0 + TDT, 4)));
        p.write(BAR0 + TDLEN, 4, 0);
        p.write(BAR0 + TDT, 4, 3);
        out.add("tdlen 0: tdh " + hex(p.read(BAR0 + TDH, 4)));

        // all ones to every register without an action, then everything again
        p.writeAll(writable(), 0xffff_ffffL);
        dumpRegisters(p, out, "ones");
        out.add("final status " + hex(p.cfgRead(0x04, 4)));
    }

    static void desc(Side p, long ring, int i, long addr, int lower, int upper) throws IOException {
        p.write(ring + 16L * i, 8, addr);
        p.write(ring + 16L * i + 8, 4, lower & 0xffff_ffffL);
        p.write(ring + 16L * i + 12, 4, upper & 0xffff_ffffL);
    }

    static void ctx(Side p, long ring, int i, int ipcss, int ipcso, int ipcse, int tucss, int tucso, int tucse,
            int cmd, int hdrLen, int mss) throws IOException {
        long d = ring + 16L * i;
        p.write(d, 4, (ipcss | ipcso << 8 | ipcse << 16) & 0xffff_ffffL);
        p.write(d + 4, 4, (tucss | tucso << 8 | tucse << 16) & 0xffff_ffffL);
        p.write(d + 8, 4, cmd & 0xffff_ffffL);
        p.write(d + 12, 4, (hdrLen << 8 | mss << 16) & 0xffff_ffffL);
    }

    @Test
    void sameAsQemu() throws Exception {
        assumeTrue(Qtest.available(), Qtest.QEMU + " is not on PATH; skipping the side-by-side comparison");
        assumeTrue(Files.isRegularFile(ROM), ROM + " (ipxe-qemu) is missing; QEMU's e1000 needs it");
        List<String> qemu = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        try (Qtest q = Qtest.start("-S", "-m", "64", "-device", "e1000,addr=4")) {
            script(new QemuSide(q), qemu);
        }
        ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
        try (TestBoard board = new TestBoard()) {
            // a clock that never runs, as QEMU's stopped virtual clock: no mitigation or autonegotiation timer fires
            VirtualClock stopped = new VirtualClock(System::nanoTime, exec);
            Optional<PciBar> rom = OptionRom.load(board, ROM.toString(), OptionRom.ROMSIZE_FROM_FILE, 1, 0x0200);
            E1000 dev = new E1000(board.memory, stopped, E1000Rig.MAC, E1000.Flags.DEFAULT, "e1000.0", "", rom);
            board.pci.add(4, 0, dev);
            script(new OurSide(board, dev), ours);
            dev.close();
        } finally {
            exec.shutdownNow();
        }
        String dump = System.getProperty("jvmm.e1000.dump");
        if (dump != null) {
            Files.write(Path.of(dump + ".qemu"), qemu);
            Files.write(Path.of(dump + ".ours"), ours);
        }
        for (int i = 0; i < Math.min(qemu.size(), ours.size()); i++) {
            assertEquals(qemu.get(i), ours.get(i), "step " + i);
        }
        assertEquals(qemu.size(), ours.size());
    }

    static final class QemuSide implements Side {
        final Qtest q;

        QemuSide(Qtest q) {
            this.q = q;
        }

        @Override
        public long cfgRead(int reg, int size) throws IOException {
            q.command(String.format("outl 0xcf8 0x%x", 0x8000_0000 | DEVFN << 8 | (reg & ~3)));
            return in(0xcfc + (reg & 3), size);
        }

        @Override
        public void cfgWrite(int reg, int size, long v) throws IOException {
            q.command(String.format("outl 0xcf8 0x%x", 0x8000_0000 | DEVFN << 8 | (reg & ~3)));
            out(0xcfc + (reg & 3), size, v);
        }

        @Override
        public long read(long addr, int size) throws IOException {
            return Long.parseUnsignedLong(q.command(String.format("read%s 0x%x", suffix(size), addr)).substring(2), 16);
        }

        @Override
        public void write(long addr, int size, long v) throws IOException {
            q.command(String.format("write%s 0x%x 0x%x", suffix(size), addr, v));
        }

        @Override
        public long in(int port, int size) throws IOException {
            return Long.decode(q.command(String.format("in%s 0x%x", suffix(size), port)));
        }

        @Override
        public void out(int port, int size, long v) throws IOException {
            q.command(String.format("out%s 0x%x 0x%x", suffix(size), port, v));
        }

        @Override
        public List<Long> readAll(List<Long> addrs) throws IOException {
            List<String> cmds = new ArrayList<>();
            for (long a : addrs) {
                cmds.add(String.format("readl 0x%x", a));
            }
            List<Long> out = new ArrayList<>();
            for (String s : q.commands(cmds)) {
                out.add(Long.decode(s));
            }
            return out;
        }

        @Override
        public void writeAll(List<Long> addrs, long v) throws IOException {
            List<String> cmds = new ArrayList<>();
            for (long a : addrs) {
                cmds.add(String.format("writel 0x%x 0x%x", a, v));
            }
            q.commands(cmds);
        }

        static String suffix(int size) {
            return switch (size) {
                case 1 -> "b";
                case 2 -> "w";
                case 4 -> "l";
                default -> "q";
            };
        }
    }

    static final class OurSide implements Side {
        final TestBoard board;
        final IoHandler mmio;
        final IoHandler io;

        OurSide(TestBoard board, E1000 dev) {
            this.board = board;
            this.mmio = dev.bars().get(0).handler();
            this.io = dev.bars().get(1).handler();
        }

        @Override
        public long cfgRead(int reg, int size) {
            return board.pci.readConfig(0, DEVFN, reg, size) & E1000Mmio.mask(size);
        }

        @Override
        public void cfgWrite(int reg, int size, long v) {
            board.pci.writeConfig(0, DEVFN, reg, size, (int) v);
        }

        @Override
        public long read(long addr, int size) {
            if (addr >= BAR0 && addr < BAR0 + E1000.MMIO_SIZE) {
                return mmio.read(addr - BAR0, size) & E1000Mmio.mask(size);
            }
            return switch (size) {
                case 1 -> board.memory.readByte(addr) & 0xffL;
                case 2 -> board.memory.readShort(addr) & 0xffffL;
                case 4 -> board.memory.readInt(addr) & 0xffff_ffffL;
                default -> board.memory.readLong(addr);
            };
        }

        @Override
        public void write(long addr, int size, long v) {
            if (addr >= BAR0 && addr < BAR0 + E1000.MMIO_SIZE) {
                mmio.write(addr - BAR0, size, v);
                return;
            }
            switch (size) {
                case 1 -> board.memory.writeByte(addr, (byte) v);
                case 2 -> board.memory.writeShort(addr, (short) v);
                case 4 -> board.memory.writeInt(addr, (int) v);
                default -> board.memory.writeLong(addr, v);
            }
        }

        @Override
        public long in(int port, int size) {
            return io.read(port - BAR1, size) & E1000Mmio.mask(size);
        }

        @Override
        public void out(int port, int size, long v) {
            io.write(port - BAR1, size, v);
        }
    }
}
