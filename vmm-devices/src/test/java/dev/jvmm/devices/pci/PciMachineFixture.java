package dev.jvmm.devices.pci;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;

import java.util.ArrayList;
import java.util.List;

/** A bus 0 with the i440FX and PIIX3 on port and MMIO buses, ISA IRQ levels recorded. */
final class PciMachineFixture {
    final PioBus pio = new PioBus();
    final MmioBus mmio = new MmioBus();
    final boolean[] irqLevel = new boolean[16];
    final List<String> irqLog = new ArrayList<>();
    int resets;
    final PciInterruptRouter router = new PciInterruptRouter(n -> high -> {
        irqLevel[n] = high;
        irqLog.add(n + (high ? "+" : "-"));
    });
    final PciBus bus = new PciBus(router, BarMapper.of(pio, mmio));
    final PciHostBridge host = new PciHostBridge(bus);
    final I440fxHostBridge i440fx = new I440fxHostBridge(128L << 20);
    final Piix3IsaBridge piix3 = new Piix3IsaBridge(router, () -> resets++);

    PciMachineFixture() {
        host.attach(pio);
        piix3.attach(pio);
        bus.add(0, 0, i440fx);
        bus.add(1, 0, piix3);
    }

    static int address(int slot, int fn, int reg) {
        return 0x8000_0000 | slot << 11 | fn << 8 | reg;
    }

    int read(int slot, int fn, int reg, int size) {
        pio.write(0xcf8, 4, address(slot, fn, reg & ~3));
        return (int) pio.read(0xcfc + (reg & 3), size);
    }

    void write(int slot, int fn, int reg, int size, int value) {
        pio.write(0xcf8, 4, address(slot, fn, reg & ~3));
        pio.write(0xcfc + (reg & 3), size, value & 0xffff_ffffL);
    }

    /** A test function with one BAR of each kind and INTA. */
    static class TestFunction implements PciFunction {
        final PciConfigSpace config;
        final List<PciBar> bars = new ArrayList<>();
        IntxLine intx;
        final String desc;

        TestFunction(int device, int classCode, int pin, PciBar... bars) {
            config = new PciConfigSpace(0x1af4, device, 0, classCode, 0);
            config.set8(PciConfigSpace.INTERRUPT_PIN, pin);
            for (PciBar b : bars) {
                config.addBar(b);
                this.bars.add(b);
            }
            config.sealInitialState();
            desc = "Test";
        }

        @Override
        public int readConfig(int offset, int size) {
            return config.read(offset, size);
        }

        @Override
        public void writeConfig(int offset, int size, int value) {
            config.write(offset, size, value);
        }

        @Override
        public String description() {
            return desc;
        }

        @Override
        public void reset() {
            config.reset();
        }

        @Override
        public List<PciBar> bars() {
            return bars;
        }

        @Override
        public void connectIntx(IntxLine line) {
            intx = line;
        }
    }

    /** A handler that answers its own tag, to see which BAR a bus access reached. */
    static IoHandler tag(long value) {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return value + offset;
            }

            @Override
            public void write(long offset, int size, long v) {
            }
        };
    }
}
