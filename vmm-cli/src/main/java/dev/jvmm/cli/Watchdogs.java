package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.state.RunState;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.watchdog.I6300Esb;
import dev.jvmm.devices.watchdog.Ib700;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The machine's watchdogs: {@code -device i6300esb} (PCI) and {@code -device ib700} (ISA), on a guest-time
 * clock that stands still whenever the VM does not run, as QEMU's virtual clock does. Expiry goes to the
 * lifecycle policy (WATCHDOG and the -watchdog-action).
 */
final class Watchdogs {
    /** The first slot free for -device functions: 0 is the host bridge, 1 the PIIX3. */
    private static final int FIRST_DEVICE_SLOT = 2;

    private final VirtualClock clock;
    private final LifecycleController lifecycle;
    private final PioBus pio;
    private final PciBus pci;
    private final PrintStream err;
    private final List<Ib700> ib700s = new ArrayList<>();

    Watchdogs(ScheduledExecutorService timers, LifecycleController lifecycle, PioBus pio, PciBus pci,
            PrintStream err) {
        this.clock = new VirtualClock(System::nanoTime, timers);
        this.lifecycle = lifecycle;
        this.pio = pio;
        this.pci = pci;
        this.err = err;
        lifecycle.runState().addListener((from, to) -> {
            if (to == RunState.RUNNING) {
                clock.resume();
            } else if (from == RunState.RUNNING) {
                clock.pause();
            }
        });
    }

    VirtualClock clock() {
        return clock;
    }

    /** -device i6300esb[,id=][,bus=pci.0][,addr=slot[.fn]]. */
    void addI6300Esb(QemuOpts d) {
        checkProperties(d, "i6300esb", "driver", "id", "bus", "addr");
        String bus = d.getOrDefault("bus", "pci.0");
        if (!bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        I6300Esb esb = new I6300Esb(clock, this::expired, this::notice, d.getOrDefault("id", ""));
        plug(esb, d.get("addr").orElse(null), d.option());
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

    /** addr= ("slot[.function]", hex) or the first free slot, with QEMU's refusals. */
    private void plug(I6300Esb f, String addr, String option) {
        int slot;
        int function = 0;
        if (addr != null) {
            try {
                String[] parts = addr.split("\\.", 2);
                String s = parts[0].startsWith("0x") || parts[0].startsWith("0X") ? parts[0].substring(2) : parts[0];
                slot = Integer.parseInt(s, 16);
                function = parts.length > 1 ? Integer.parseInt(parts[1], 16) : 0;
            } catch (NumberFormatException e) {
                slot = -1;
            }
            if (slot < 0 || slot >= PciBus.SLOTS || function < 0 || function >= PciBus.FUNCTIONS) {
                throw new OptionException(option, "Property 'i6300esb.addr' doesn't take value '" + addr + "'");
            }
            if (pci.function(slot, function) != null) {
                throw new OptionException(option, String.format(
                        "PCI: slot %d function %d not available for i6300esb, in use by another device", slot,
                        function));
            }
        } else {
            slot = FIRST_DEVICE_SLOT;
            while (slot < PciBus.SLOTS && pci.function(slot, 0) != null) {
                slot++;
            }
            if (slot == PciBus.SLOTS) {
                throw new OptionException(option,
                        "PCI: no slot/function available for i6300esb, all in use or reserved");
            }
        }
        pci.add(slot, function, f);
    }
}
