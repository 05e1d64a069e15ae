package dev.jvmm.devices.isa;

import dev.jvmm.core.io.PioBus;

/** The CMOS index and data ports (0x70/0x71) as the RTC tests drive them: select a register, then read or write it. */
final class CmosPorts {
    private static final int INDEX = CmosRtc.BASE;
    private static final int DATA = CmosRtc.BASE + 1;

    private CmosPorts() {
    }

    static int read(PioBus bus, int index) {
        bus.write(INDEX, 1, index);
        return (int) bus.read(DATA, 1);
    }

    static void write(PioBus bus, int index, int value) {
        bus.write(INDEX, 1, index);
        bus.write(DATA, 1, value);
    }
}
