package dev.jvmm.devices.watchdog;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.List;
import java.util.function.Consumer;

/**
 * Intel 6300ESB watchdog timer (6300ESB I/O Controller Hub datasheet 300641, chapter 16 "Watchdog Timer"), PCI
 * 8086:25ab, as QEMU 7.2's i6300esb models it.
 *
 * <p>Configuration registers: {@link #ESB_CONFIG_REG} (16-bit: reboot disable, clock scale, interrupt type)
 * and {@link #ESB_LOCK_REG} (8-bit: enable, free-running, lock). Both answer only to accesses of their own
 * width; any other access is plain configuration space, writable from 0x40 up as in QEMU. BAR0 is 16 bytes
 * of memory: the two preload values and the reload register, which need the 0x80, 0x86 unlock sequence
 * before each write.
 *
 * <p>The timer counts preload units of 2^15 (1 kHz scale) or 2^5 (1 MHz scale) PCI clocks of 30 ns. When
 * stage 1 runs out, stage 2 starts (the datasheet's internal IRQ, APIC 1 INT 10, or SMI is not delivered by
 * QEMU, which only prints a notice; so here); when stage 2 runs
 * out with reboot enabled, the previous-timeout flag is set, the machine's watchdog action runs and the
 * device resets. In free-running mode stage 1 then starts again. Guest time only (a
 * {@link VirtualClock}): nothing counts while the VM is paused.
 */
public final class I6300Esb implements PciFunction, Saveable {
    /** QEMU's i6300esb: a conventional PCI function with no properties of its own. */
    public static final TypeInfo TYPE = TypeInfo.type("i6300esb", "pci-device").category("Watchdog").description("Intel 6300ESB")
            .implementing("conventional-pci-device")
            .build();

    /** Expiry goes to the machine's watchdog action, the end-of-stage-1 notice to its stderr; reset with the bus. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        PciBus pci = where.bus().owner(PciBus.class);
        PciPlacement at = PciPlacement.choose(pci, TYPE.name(), p.number("addr"));
        I6300Esb esb = new I6300Esb(ctx.clock(), () -> WatchdogAction.expired(ctx),
                line -> WatchdogAction.notice(ctx, line), where.idOrEmpty());
        pci.add(at.slot(), at.function(), esb);
        at.describe(where.node());
        return new Realized<>(esb, () -> { }, esb::close);
    });

    public static final int VENDOR_INTEL = 0x8086;
    /** PCI_DEVICE_ID_INTEL_ESB_9: the watchdog function. */
    public static final int DEVICE_ID = 0x25ab;
    /** PCI_CLASS_SYSTEM_OTHER. */
    public static final int CLASS_SYSTEM_OTHER = 0x088000;

    static final int PCI_SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    static final int PCI_SUBSYSTEM_ID_QEMU = 0x1100;

    /** Datasheet chapter 16, PCI configuration register 60h: WDT configuration (16-bit). */
    public static final int ESB_CONFIG_REG = 0x60;
    /** Datasheet chapter 16, PCI configuration register 68h: WDT lock (8-bit). */
    public static final int ESB_LOCK_REG = 0x68;

    /** Datasheet chapter 16, memory register BAR + 00h: Preload Value 1 (bits 19:0). */
    public static final int ESB_TIMER1_REG = 0x00;
    /** Datasheet chapter 16, BAR + 04h: Preload Value 2 (bits 19:0). */
    public static final int ESB_TIMER2_REG = 0x04;
    /** Datasheet chapter 16, BAR + 08h: General Interrupt Status. */
    public static final int ESB_GINTSR_REG = 0x08;
    /** Datasheet chapter 16, BAR + 0Ch: Reload register (also takes the unlock sequence). */
    public static final int ESB_RELOAD_REG = 0x0c;
    public static final int BAR_SIZE = 0x10;

    /** WDT_LOCK bit 2: free-running mode (WDT_FUNC). */
    public static final int ESB_WDT_FUNC = 1 << 2;
    /** WDT_LOCK bit 1: watchdog enable. */
    public static final int ESB_WDT_ENABLE = 1 << 1;
    /** WDT_LOCK bit 0: lock until reset. */
    public static final int ESB_WDT_LOCK = 1;

    /** WDT_CONFIG bit 5: set disables the reboot (WDT_OUTPUT) on stage-2 timeout. */
    public static final int ESB_WDT_REBOOT = 1 << 5;
    /** WDT_CONFIG bit 2: 1 MHz clock scale instead of 1 kHz. */
    public static final int ESB_WDT_FREQ = 1 << 2;
    /** WDT_CONFIG interrupt type; QEMU's mask is 0x11, so bits 0 and 4 are kept (not bits 1:0). */
    public static final int ESB_WDT_INTTYPE = 0x11;

    /** Reload register bit 8: reload (pet) the timer. */
    public static final int ESB_WDT_RELOAD = 1 << 8;
    /** Reload register bit 9: timeout flag (previous reboot by the watchdog); written 1 clears it. */
    public static final int ESB_WDT_TIMEOUT = 1 << 9;
    /** Linux's driver uses bit 12 for the timeout flag; QEMU honours both. */
    public static final int ESB_WDT_TIMEOUT_LINUX = 1 << 12;
    /** First and second value of the register unlock sequence written to the reload register. */
    public static final int ESB_UNLOCK1 = 0x80;
    public static final int ESB_UNLOCK2 = 0x86;

    /** Preload values are 20 bits. */
    public static final int PRELOAD_MASK = 0xfffff;
    /** One PCI clock at 33 MHz, as QEMU counts it. */
    static final long PCI_CLOCK_NANOS = 30;
    static final int SCALE_1KHZ_SHIFT = 15;
    static final int SCALE_1MHZ_SHIFT = 5;

    private final PciConfigSpace config;
    private final PciBar bar;
    private final VirtualClock clock;
    private final VirtualClock.Timer timer;
    private final Runnable expired;
    private final Consumer<String> notice;
    private final String qdevId;

    // Watchdog state (QEMU's I6300State), guarded by this.
    private boolean rebootEnabled;
    private boolean scale1MHz;
    private int intType;
    private boolean freeRun;
    private boolean locked;
    private boolean enabled;
    private int stage;
    private int timer1Preload;
    private int timer2Preload;
    private int unlockState;
    /** Survives device reset: it tells the guest after a reboot that the watchdog caused it. */
    private boolean previousRebootFlag;

    /**
     * @param expired runs when stage 2 expires with reboot enabled (the machine's watchdog action)
     * @param notice  gets the line QEMU prints to stderr at the end of stage 1
     */
    public I6300Esb(VirtualClock clock, Runnable expired, Consumer<String> notice, String qdevId) {
        this.config = new PciConfigSpace(VENDOR_INTEL, DEVICE_ID, 0, CLASS_SYSTEM_OTHER, 0);
        this.bar = new PciBar(0, PciBar.Kind.MEMORY32, BAR_SIZE, false, new Registers());
        config.addBar(bar);
        // QEMU's defaults for a PCI device that sets none (Red Hat / QEMU).
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, PCI_SUBSYSTEM_VENDOR_QEMU);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, PCI_SUBSYSTEM_ID_QEMU);
        // QEMU's pci_init_wmask: the device-specific area is writable as plain configuration space.
        for (int off = PciConfigSpace.DEVICE_SPECIFIC; off < PciConfigSpace.SIZE; off += 8) {
            config.setWritable(off, 8, -1L);
        }
        config.sealInitialState();
        this.clock = clock;
        this.timer = clock.newTimer(this::timerExpired);
        this.expired = expired;
        this.notice = notice;
        this.qdevId = qdevId;
        resetWatchdog();
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        if (offset == ESB_CONFIG_REG && size == 2) {
            return (rebootEnabled ? 0 : ESB_WDT_REBOOT) | (scale1MHz ? ESB_WDT_FREQ : 0) | intType;
        }
        if (offset == ESB_LOCK_REG && size == 1) {
            return (freeRun ? ESB_WDT_FUNC : 0) | (locked ? ESB_WDT_LOCK : 0) | (enabled ? ESB_WDT_ENABLE : 0);
        }
        return config.read(offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        if (offset == ESB_CONFIG_REG && size == 2) {
            rebootEnabled = (value & ESB_WDT_REBOOT) == 0;
            scale1MHz = (value & ESB_WDT_FREQ) != 0;
            intType = value & ESB_WDT_INTTYPE;
        } else if (offset == ESB_LOCK_REG && size == 1) {
            if (locked) {
                return;
            }
            locked = (value & ESB_WDT_LOCK) != 0;
            freeRun = (value & ESB_WDT_FUNC) != 0;
            boolean was = enabled;
            enabled = (value & ESB_WDT_ENABLE) != 0;
            if (!was && enabled) {
                restartTimer(1);
            } else if (!enabled) {
                timer.cancel();
            }
        } else {
            config.write(offset, size, value);
        }
    }

    /** QEMU has no name for class 0x0880: query-pci's class_info carries no "desc". */
    @Override
    public String description() {
        return null;
    }

    @Override
    public String qdevId() {
        return qdevId;
    }

    @Override
    public List<PciBar> bars() {
        return List.of(bar);
    }

    /** Machine reset: configuration space and watchdog to power-on state; the previous-reboot flag stays. */
    @Override
    public synchronized void reset() {
        config.reset();
        resetWatchdog();
    }

    /** The device leaves the machine (ejected): a running watchdog stops with it. */
    public synchronized void close() {
        timer.cancel();
    }

    /** The guest time the current stage ends at, or -1 when the timer is not running. */
    public long deadline() {
        return timer.deadline();
    }

    public synchronized int stage() {
        return stage;
    }

    /** Guest nanoseconds one stage lasts with this preload at this scale (30 ns PCI clocks). */
    public static long stageNanos(int preload, boolean scale1MHz) {
        long ticks = (long) (preload & PRELOAD_MASK) << (scale1MHz ? SCALE_1MHZ_SHIFT : SCALE_1KHZ_SHIFT);
        return ticks * PCI_CLOCK_NANOS;
    }

    private void resetWatchdog() {
        timer.cancel();
        rebootEnabled = true;
        scale1MHz = false;
        intType = 0;
        freeRun = false;
        locked = false;
        enabled = false;
        stage = 1;
        timer1Preload = PRELOAD_MASK;
        timer2Preload = PRELOAD_MASK;
        unlockState = 0;
    }

    private void restartTimer(int newStage) {
        if (!enabled) {
            return;
        }
        stage = newStage;
        timer.modIn(stageNanos(stage <= 1 ? timer1Preload : timer2Preload, scale1MHz));
    }

    /** On the clock's executor: stage 1 ends into stage 2; stage 2 ends in the watchdog action. */
    private void timerExpired() {
        boolean fire = false;
        String line = null;
        synchronized (this) {
            if (!enabled || !timer.claimExpiry()) {
                return; // disabled, reset or pet while this expiry was on its way
            }
            if (stage == 1) {
                // QEMU 7.2 wires no interrupt for the first stage; it prints this instead.
                if (intType == 0) {
                    line = "i6300esb_timer_expired: I would send APIC 1 INT 10 here if I knew how (XXX)";
                } else if (intType == 2) {
                    line = "i6300esb_timer_expired: I would send SMI here if I knew how (XXX)";
                }
                restartTimer(2);
            } else {
                if (rebootEnabled) {
                    previousRebootFlag = true;
                    fire = true;
                    resetWatchdog();
                }
                if (freeRun) {
                    restartTimer(1);
                }
            }
        }
        if (line != null) {
            notice.accept(line);
        }
        if (fire) {
            expired.run();
        }
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Config space, the WDT registers, the unlock sequence's progress, the previous-reboot flag and the
     * running stage as guest time left, re-armed against the restoring machine's clock. The bus re-maps BAR0.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        config.saveState(w);
        w.bool("reboot-enabled", rebootEnabled).bool("scale-1mhz", scale1MHz).u8("int-type", intType)
                .bool("free-run", freeRun).bool("locked", locked).bool("enabled", enabled).u8("stage", stage)
                .u32("preload1", timer1Preload).u32("preload2", timer2Preload).u8("unlock", unlockState)
                .bool("previous-reboot", previousRebootFlag);
        long deadline = timer.deadline();
        w.bool("running", deadline >= 0);
        w.u64("remaining-ns", deadline >= 0 ? Math.max(0, deadline - clock.nanos()) : 0);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        byte[] cfg = config.readState(r);
        boolean reboot = r.bool("reboot-enabled");
        boolean scale = r.bool("scale-1mhz");
        int type = r.u8("int-type");
        if ((type & ~ESB_WDT_INTTYPE) != 0) {
            throw r.invalid("int-type", String.format("0x%02x has bits outside 0x%02x", type, ESB_WDT_INTTYPE));
        }
        boolean free = r.bool("free-run");
        boolean lock = r.bool("locked");
        boolean en = r.bool("enabled");
        int st = r.u8("stage", 2);
        if (st < 1) {
            throw r.invalid("stage", "0 is not a stage (1 or 2)");
        }
        int p1 = r.u32("preload1", 0, PRELOAD_MASK);
        int p2 = r.u32("preload2", 0, PRELOAD_MASK);
        int unlock = r.u8("unlock", 2);
        boolean prev = r.bool("previous-reboot");
        boolean running = r.bool("running");
        if (running && !en) {
            throw r.invalid("running", "the timer runs while the watchdog is disabled");
        }
        // The preloads and scale may have changed since the stage began, so bound by the longest stage.
        long remaining = r.u64("remaining-ns", 0, running ? stageNanos(PRELOAD_MASK, false) : 0);
        config.applyState(cfg);
        rebootEnabled = reboot;
        scale1MHz = scale;
        intType = type;
        freeRun = free;
        locked = lock;
        enabled = en;
        stage = st;
        timer1Preload = p1;
        timer2Preload = p2;
        unlockState = unlock;
        previousRebootFlag = prev;
        if (running) {
            timer.modIn(remaining);
        } else {
            timer.cancel();
        }
    }

    /** BAR0: preload and reload registers behind the unlock sequence. */
    private final class Registers implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (I6300Esb.this) {
                if (size == 2 && offset == ESB_RELOAD_REG) {
                    // QEMU sets both the datasheet's bit 9 and the bit 12 Linux reads.
                    return previousRebootFlag ? ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_LINUX : 0;
                }
                return 0;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (I6300Esb.this) {
                if (offset == ESB_RELOAD_REG && value == ESB_UNLOCK1 && size <= 4) {
                    unlockState = 1;
                } else if (offset == ESB_RELOAD_REG && value == ESB_UNLOCK2 && unlockState == 1 && size <= 4) {
                    unlockState = 2;
                } else if (size == 2 && unlockState == 2) {
                    if (offset == ESB_RELOAD_REG) {
                        if ((value & ESB_WDT_RELOAD) != 0) {
                            restartTimer(1);
                        }
                        if ((value & (ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_LINUX)) != 0) {
                            previousRebootFlag = false;
                        }
                    }
                    unlockState = 0;
                } else if (size == 4 && unlockState == 2) {
                    if (offset == ESB_TIMER1_REG) {
                        timer1Preload = (int) value & PRELOAD_MASK;
                    } else if (offset == ESB_TIMER2_REG) {
                        timer2Preload = (int) value & PRELOAD_MASK;
                    }
                    unlockState = 0;
                }
            }
        }
    }
}
