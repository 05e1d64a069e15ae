package dev.jvmm.devices.isa;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

/**
 * {@code -device pvpanic[,ioport=N][,events=N]} (QEMU 7.2 hw/misc/pvpanic-isa.c properties).
 *
 * @param ioport the port, 0x505 by default
 * @param events the bits a guest reads as supported, PANICKED | CRASH_LOADED (3) by default
 */
public record PvPanicOptions(int ioport, int events) {
    public static final PvPanicOptions DEFAULT = new PvPanicOptions(PvPanic.DEFAULT_IOPORT, PvPanic.PVPANIC_EVENTS);

    public PvPanicOptions {
        if (ioport < 0 || ioport > 0xffff || events < 0 || events > 0xff) {
            throw new IllegalArgumentException("ioport or events out of range");
        }
    }

    /**
     * Parses the whole -device argument ("pvpanic,ioport=0x505"); "id" is accepted and ignored here.
     * Errors read as QEMU's: "-device pvpanic,events=256: Parameter 'events' expects uint8_t".
     */
    public static PvPanicOptions parse(String text) {
        String option = "-device " + text;
        QemuOpts opts = QemuOpts.parse(option, text, "driver");
        for (String key : opts.values().keySet()) {
            switch (key) {
                case "driver", "id", "ioport", "events" -> { }
                default -> throw new OptionException(option, "Property 'pvpanic." + key + "' not found");
            }
        }
        int ioport = (int) number(opts, option, "ioport", PvPanic.DEFAULT_IOPORT, 0xffff, "uint16_t");
        int events = (int) number(opts, option, "events", PvPanic.PVPANIC_EVENTS, 0xff, "uint8_t");
        return new PvPanicOptions(ioport, events);
    }

    private static long number(QemuOpts opts, String option, String key, long def, long max, String type) {
        String v = opts.get(key).orElse(null);
        if (v == null) {
            return def;
        }
        long n;
        try {
            n = QemuOpts.parseNumber(v);
        } catch (NumberFormatException e) {
            throw new OptionException(option, "Parameter '" + key + "' expects integer");
        }
        if (n < 0 || n > max) {
            throw new OptionException(option, "Parameter '" + key + "' expects " + type);
        }
        return n;
    }
}
