package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

/**
 * Random guest port traffic (task files, commands, CDBs, bus-master registers, PRD tables anywhere) and
 * random host tray operations and I/O failures: nothing may throw out of a device.
 */
class IdeFuzzTest {
    static final int[] ATA_COMMANDS = {0x06, 0x08, 0x10, 0x20, 0x24, 0x25, 0x27, 0x29, 0x30, 0x34, 0x35, 0x39,
            0x40, 0x42, 0x70, 0x90, 0x91, 0xa0, 0xa1, 0xb0, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe5, 0xe7, 0xea, 0xec,
            0xef, 0xf8, 0xff};
    static final int[] PACKET_OPS = {0x00, 0x03, 0x12, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x43, 0x46, 0x4a, 0x51,
            0x5a, 0xa8, 0xad, 0xbb, 0xbd, 0xbe, 0xff};

    @Test
    void randomTrafficNeverThrows() {
        for (long seed = 1; seed <= 6; seed++) {
            long s = seed;
            assertDoesNotThrow(() -> run(s, 40_000), "seed " + s);
        }
    }

    private static void run(long seed, int steps) {
        Random r = new Random(seed);
        try (IdeGuest g = new IdeGuest()) {
            FakeBackend disk = new FakeBackend("hd", 8L << 20);
            FakeBackend slave = new FakeBackend("hd1", 1L << 20);
            FakeBackend iso = new FakeBackend("cd", 50 * 2048);
            AtapiCdrom cd = new AtapiCdrom(iso, "QM00003");
            g.ide.bus(0).attach(0, new AtaDrive(disk, "QM00001", null, true));
            g.ide.bus(0).attach(1, new AtaDrive(slave, "QM00002", new AtaGeometry(20, 4, 17), false));
            g.ide.bus(1).attach(0, cd);
            BlockBackend.ErrorAction[] actions = BlockBackend.ErrorAction.values();
            for (int i = 0; i < steps; i++) {
                int ch = r.nextInt(2);
                int base = IdeGuest.cmdBase(ch);
                switch (r.nextInt(12)) {
                    case 0 -> g.out(base + 1 + r.nextInt(6), r.nextInt(256));
                    case 1 -> g.out(base + 7, ATA_COMMANDS[r.nextInt(ATA_COMMANDS.length)]);
                    case 2 -> g.pio.read(base + r.nextInt(8), 1 << r.nextInt(3));
                    case 3 -> {
                        for (int k = r.nextInt(300); k > 0; k--) {
                            g.pio.read(base, 2);
                        }
                    }
                    case 4 -> {
                        for (int k = r.nextInt(300); k > 0; k--) {
                            g.pio.write(base, 1 << r.nextInt(3), r.nextLong());
                        }
                    }
                    case 5 -> {
                        // a CDB with a plausible opcode
                        g.pio.write(base, 2, PACKET_OPS[r.nextInt(PACKET_OPS.length)] | r.nextInt(256) << 8);
                        for (int k = 0; k < 5; k++) {
                            g.pio.write(base, 2, r.nextInt(1 << 16));
                        }
                    }
                    case 6 -> g.out(IdeGuest.ctlPort(ch), r.nextInt(8) == 0 ? IdeBus.CONTROL_SRST : r.nextInt(256));
                    case 7 -> g.pio.write(IdeGuest.BM + r.nextInt(16), 1 << r.nextInt(3), r.nextLong());
                    case 8 -> {
                        long table = r.nextBoolean() ? 0x1000 : r.nextLong() & 0xffff_fffcL;
                        g.pio.write(g.bm(ch) + 4, 4, table);
                        for (int k = 0; k < 4; k++) {
                            long addr = r.nextInt(4) == 0 ? r.nextLong() & 0xffff_ffffL : r.nextInt(IdeGuest.RAM);
                            g.mem.writeInt(0x1000 + 8 * k, (int) addr);
                            g.mem.writeInt(0x1004 + 8 * k, r.nextInt());
                        }
                        g.out(g.bm(ch), r.nextInt(16));
                    }
                    case 9 -> {
                        switch (r.nextInt(6)) {
                            case 0 -> {
                                // the block graph's open-tray: a locked tray gets an eject request first
                                boolean force = r.nextBoolean();
                                if (cd.isMediumLocked()) {
                                    cd.ejectRequest(force);
                                }
                                if (!cd.isMediumLocked() && !cd.isTrayOpen()) {
                                    cd.changeMedia(false);
                                }
                            }
                            case 1 -> {
                                if (cd.isTrayOpen()) {
                                    cd.changeMedia(true);
                                }
                            }
                            case 2 -> {
                                if (cd.isTrayOpen()) {
                                    iso.eject();
                                }
                            }
                            case 3 -> {
                                if (cd.isTrayOpen() && !iso.isInserted()) {
                                    iso.insert(r.nextBoolean() ? 50 * 2048 : r.nextInt(4) * 2048L);
                                }
                            }
                            default -> g.ide.reset();
                        }
                    }
                    case 10 -> {
                        FakeBackend b = r.nextBoolean() ? disk : iso;
                        b.failNext = r.nextInt(3);
                        b.action = actions[r.nextInt(actions.length)];
                    }
                    default -> {
                        for (FakeBackend b : new FakeBackend[]{disk, slave, iso}) {
                            if (b.retry != null && r.nextInt(4) == 0) {
                                b.retry.run();
                            }
                        }
                    }
                }
            }
        }
    }
}
