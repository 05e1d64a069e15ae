package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.watchdog.I6300Esb;
import dev.jvmm.devices.watchdog.Ib700;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The machine's watchdogs: {@code -device i6300esb} (PCI) and {@code -device ib700} (ISA), on a guest-time
 * clock that stands still whenever the VM does not run, as QEMU's virtual clock does. Expiry goes to the
 * lifecycle policy (WATCHDOG and the -watchdog-action).
 */
final class Watchdogs {

    private final VirtualClock clock;
    private final LifecycleController lifecycle;
    private final PioBus pio;
    private final PciBus pci;
    private final PrintStream err;
    private final List<Ib700> ib700s = new ArrayList<>();

    Watchdogs(VirtualClock clock, LifecycleController lifecycle, PioBus pio, PciBus pci, PrintStream err) {
        this.clock = clock;
        this.lifecycle = lifecycle;
        this.pio = pio;
        this.pci = pci;
        this.err = err;
    }

    /** -device i6300esb[,id=][,bus=pci.0][,addr=slot[.fn]]. */
    void addI6300Esb(QemuOpts d) {
        checkProperties(d, "i6300esb", "driver", "id", "bus", "addr");
        String bus = d.getOrDefault("bus", "pci.0");
        if (!bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        I6300Esb esb = new I6300Esb(clock, this::expired, this::notice, d.getOrDefault("id", ""));
        PciPlacement at = LegacyPci.choose(pci, "i6300esb", d.get("addr").orElse(null), d.option());
        pci.add(at.slot(), at.function(), esb);
    }

    /** -device ib700[,id=]. */
    void addIb700(QemuOpts d) {
        checkProperties(d, "ib700", "driver", "id", "bus");
        String bus = d.getOrDefault("bus", "isa.0");
        if (bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Device 'ib700' can't go on PCI bus");
        }
        if (!bus.equals("isa.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        Ib700 dev = new Ib700(clock, this::expired);
        // QEMU accepts a second ib700 on the same ports, where only one of them decodes; so here.
        if (ib700s.isEmpty()) {
            dev.attach(pio);
        }
        ib700s.add(dev);
    }

    /** Machine reset: ISA watchdogs disarmed (PCI ones reset with the bus). */
    void reset() {
        for (Ib700 w : ib700s) {
            w.reset();
        }
    }

    private void expired() {
        lifecycle.requestWatchdogExpiry();
        if (lifecycle.actions().watchdog() == ActionSettings.WatchdogAction.DEBUG) {
            notice("watchdog: timer fired");
        }
    }

    private void notice(String line) {
        err.println(line);
        err.flush();
    }

    private static void checkProperties(QemuOpts d, String driver, String... allowed) {
        outer:
        for (String k : d.values().keySet()) {
            for (String a : allowed) {
                if (a.equals(k)) {
                    continue outer;
                }
            }
            throw new OptionException(d.option(), "Property '" + driver + "." + k + "' not found");
        }
    }

}
