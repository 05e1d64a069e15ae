package dev.jvmm.devices.isa;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.SystemWakeup;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.timer.Hpet;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (MC146818A data sheet, "Address map" and
 * "Registers"), at ports 0x70 (index) and 0x71 (data), IRQ 8, behaving as QEMU 7.2's
 * hw/rtc/mc146818rtc.c: time registers are computed on read from the RTC clock plus a guest offset,
 * honouring register B's DM (binary/BCD) and 24/12-hour bits; setting the time moves the offset; UIP is
 * set in the last 244 us of each second; SET freezes the registers (interrupts go on), dividers in reset
 * (DV = 11x) stop time and interrupts and restart them half a second after release.
 *
 * <p>Interrupts: register C's PF (periodic, only while PIE is set, rate from register A's RS bits),
 * UF (every second) and AF (alarm, 0xc0-0xff in an alarm register matching anything) are computed lazily
 * from the clock when register C is read or a register changes, so nothing runs while no interrupt is
 * enabled. When a newly set flag is enabled in register B, IRQF is set and IRQ 8 goes high; reading
 * register C clears it and lowers the line (QEMU's qemu_irq_raise/lower). Enabled interrupts arm one
 * task at a time on a ScheduledExecutorService; periodic ticks that find PF still set are merged into
 * the pending interrupt (counted in {@link #coalescedTicks()}) rather than each costing a wake-up.
 *
 * <p>The alarm is a wake source, as in QEMU's rtc_update_timer: when it fires with AIE set, the RTC asks
 * {@link #setWakeup the machine} for a wake-up (reason RTC), which wakes a suspended guest if PM1_EN's RTC_EN
 * allowed it. With clock=host or rt the alarm's timer runs while the guest is suspended; with clock=vm the
 * time goes on but the timers are held ({@link #holdTimers()}), as QEMU's virtual-clock timers do not fire
 * while the vCPUs are paused, so that alarm does not wake the guest under either VMM.
 *
 * <p>{@link #setTimeChangeListener} reports guest time changes (QMP RTC_CHANGE); {@link #pause()} and
 * {@link #resume()} stop the clock for -rtc clock=vm; {@link #reset()} is the machine reset.
 */
public final class CmosRtc implements IoHandler, Saveable {
    public static final int BASE = 0x70;
    public static final int PORT_COUNT = 2;
    public static final int IRQ = 8;

    /**
     * QEMU's mc146818rtc (hw/rtc/mc146818rtc.c) at 0x70, IRQ 8. lost_tick_policy slew is -rtc driftfix=slew
     * (QEMU's sugar for it); the board sets base_year 2000, which QEMU then shows as 0.
     */
    public static final TypeInfo TYPE = TypeInfo.type("mc146818rtc", "isa-device").category("Misc")
            .implementing("acpi-dev-aml-interface")
            .props(Property.of("lost_tick_policy", PropType.LOST_TICK_POLICY, "discard"),
                    Property.fixed("irq", PropType.UINT8, (long) IRQ),
                    Property.fixed("iobase", PropType.UINT16, (long) BASE),
                    Property.of("base_year", PropType.INT32, 1980L))
            .build();

    /**
     * The board's RTC with -rtc's settings: it reports RTC_CHANGE with its own QOM path, asks the machine
     * for S3 wake-ups, and with clock=vm runs only with the VM.
     */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        if (!where.byBoard()) {
            throw new PropertyException("jvmm's pc board has its own mc146818rtc; -device mc146818rtc is not"
                    + " supported");
        }
        RtcOptions rtc = ctx.rtc();
        if (p.isSet("lost_tick_policy")) {
            RtcOptions.DriftFix drift = switch (p.str("lost_tick_policy").orElseThrow()) {
                case "slew" -> RtcOptions.DriftFix.SLEW;
                case "discard" -> RtcOptions.DriftFix.NONE;
                default -> throw new PropertyException("Invalid lost tick policy.");
            };
            rtc = new RtcOptions(rtc.base(), rtc.baseEpochSeconds(), rtc.clock(), drift);
        }
        // On a board with an HPET the RTC's interrupt passes the HPET's legacy-replacement gate (QEMU's
        // pc_basic_device_init wires it to the HPET's RTC input).
        IrqLine irq = where.model().devices().stream().filter(d -> d.type().equals(Hpet.TYPE.name())).findFirst()
                .map(d -> Realized.device(d.instance(), Hpet.class).rtcInput()).orElse(ctx.isaIrq(IRQ));
        CmosRtc r = new CmosRtc(ctx.ramBelow4g(), ctx.ramAbove4g(), ctx.cpus(), irq, Clock.systemUTC(),
                ZoneId.systemDefault(), rtc, ctx.timers());
        r.attach(ctx.pio());
        String path = where.node().path();
        r.setTimeChangeListener(offset -> ctx.events().publish(new VmEvent.RtcChange(offset, path)));
        LifecycleController lifecycle = ctx.lifecycle();
        r.setWakeup(lifecycle);
        // S3 pauses the vCPUs but not the VM: with clock=vm time goes on while the timers wait (QEMU).
        lifecycle.runState().addListener((from, to) -> {
            if (to == RunState.RUNNING) {
                r.releaseTimers();
                r.resume();
            } else if (to == RunState.SUSPENDED) {
                r.markSuspended();
                r.holdTimers();
            } else if (from == RunState.RUNNING || from == RunState.SUSPENDED) {
                r.releaseTimers();
                r.pause();
            }
        });
        ctx.describeIsa(AcpiIsaDevice.rtc());
        where.node().addConstant("base_year", "int32", p.number("base_year") == 2000 ? 0L : p.number("base_year"));
        where.node().addProperty("date", "struct tm", r::dateTm, null);
        return new Realized<>(r, r::reset, r::close);
    });

    // Address map.
    static final int RTC_SECONDS = 0x00;
    static final int RTC_SECONDS_ALARM = 0x01;
    static final int RTC_MINUTES = 0x02;
    static final int RTC_MINUTES_ALARM = 0x03;
    static final int RTC_HOURS = 0x04;
    static final int RTC_HOURS_ALARM = 0x05;
    static final int RTC_DAY_OF_WEEK = 0x06;
    static final int RTC_DAY_OF_MONTH = 0x07;
    static final int RTC_MONTH = 0x08;
    static final int RTC_YEAR = 0x09;
    static final int RTC_REG_A = 0x0a;
    static final int RTC_REG_B = 0x0b;
    static final int RTC_REG_C = 0x0c;
    static final int RTC_REG_D = 0x0d;
    /** PC convention (and QEMU): BCD century byte, also reachable as the IBM PS/2 byte 0x37. */
    static final int RTC_CENTURY = 0x32;
    static final int RTC_IBM_PS2_CENTURY_BYTE = 0x37;

    // Register A.
    static final int REG_A_UIP = 0x80;
    static final int REG_A_DV_MASK = 0x70;
    static final int REG_A_DV_32KHZ = 0x20;
    // Register B.
    static final int REG_B_SET = 0x80;
    static final int REG_B_PIE = 0x40;
    static final int REG_B_AIE = 0x20;
    static final int REG_B_UIE = 0x10;
    static final int REG_B_SQWE = 0x08;
    static final int REG_B_DM = 0x04;
    static final int REG_B_24H = 0x02;
    static final int REG_B_DSE = 0x01;
    // Register C.
    static final int REG_C_IRQF = 0x80;
    static final int REG_C_PF = 0x40;
    static final int REG_C_AF = 0x20;
    static final int REG_C_UF = 0x10;
    // Register D.
    static final int REG_D_VRT = 0x80;

    // NVRAM bytes QEMU's pc machine fills in besides memory sizes.
    static final int EQUIPMENT = 0x14;
    static final int EQUIPMENT_FPU = 0x02;
    static final int EQUIPMENT_PS2_MOUSE = 0x04;
    static final int BOOT_ORDER_3 = 0x38;
    static final int BOOT_ORDER_1_2 = 0x3d;

    static final int HOURS_PM = 0x80;
    static final int INDEX_NMI_DISABLE = 0x80;
    static final int CMOS_SIZE = 128;
    /** The data sheet's update cycle: UIP is high for 244 us before the registers change. */
    static final long UIP_HOLD_NANOS = 244_000;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** Guest times in nanoseconds must fit a long: about 292 years either side of 1970. */
    private static final long MAX_GUEST_SECONDS = Long.MAX_VALUE / NANOS_PER_SECOND - 1;

    private static final long MIB = 1L << 20;
    /** Register A's divider chain bits 0x60 both set hold the dividers in reset (no updates, no interrupts). */
    static final int REG_A_DV_RESET = 0x60;
    static final int REG_A_RS_MASK = 0x0f;
    static final int REG_C_MASK = REG_C_PF | REG_C_AF | REG_C_UF;
    /** Alarm registers holding 0xc0-0xff match any value (data sheet, "Alarm"). */
    static final int ALARM_DONT_CARE = 0xc0;
    /** QEMU's time base for the periodic interrupt: the 32.768 kHz time base. */
    static final long RTC_CLOCK_HZ = 32768;
    static final int SHUTDOWN_STATUS = 0x0f;
    static final int SHUTDOWN_S3_RESUME = 0xfe;

    private final Clock clock;
    private final ZoneId hostZone;
    private final RtcOptions options;
    private final IrqLine irq;
    private final byte[] cmos = new byte[CMOS_SIZE];
    private int index;

    // Guest time as QEMU keeps it: baseRtc seconds at rtc-clock time lastUpdate, plus a sub-second phase.
    private long baseRtcSeconds;
    private long lastUpdateNanos;
    private long phaseNanos;
    /** For base=DATETIME: host seconds at start minus the base, which QEMU's RTC_CHANGE offset discounts. */
    private final long hostDatetimeOffset;
    /** rtc-clock nanoseconds at start; the periodic interrupt is phased from it, as QEMU's virtual clock. */
    private long startNanos;

    // clock=vm: time spent paused is taken out of the RTC clock.
    private long pausedTotalNanos;
    private long pausedAtNanos = -1;

    /** Guest second at which UF/AF were last brought up to date; flags are computed lazily from it. */
    private long flagsSecond;
    /** Next rtc-clock time a periodic tick sets PF (only meaningful while PIE is set). */
    private long nextPeriodicNanos;
    /** driftfix=slew: periodic interrupts the guest missed, re-injected when it acknowledges one. */
    private long coalescedTicks;
    private int reinjectOnAckCount;
    /** QEMU's RTC_REINJECT_ON_ACK_COUNT: at most this many re-injections between two regular ticks. */
    static final int REINJECT_ON_ACK_COUNT = 20;

    /** Level last driven on IRQ 8; only changes are passed on (each one may be a KVM_IRQ_LINE call). */
    private boolean irqHigh;
    private volatile LongConsumer timeChangeListener = s -> { };
    private volatile SystemWakeup wakeup = SystemWakeup.NONE;

    // Timers: one pending task at most, for the earliest enabled interrupt.
    private final boolean timersEnabled;
    private ScheduledExecutorService timers;
    private final boolean ownsTimers;
    private ScheduledFuture<?> pending;
    /** clock=vm while suspended: time runs, timers do not (see {@link #holdTimers()}). */
    private boolean timersHeld;
    private long pendingDeadline = Long.MIN_VALUE;
    private final Runnable timerTask = this::runTimers;

    /**
     * @param belowFourGiB RAM below 4 GiB in bytes (what QEMU calls below_4g_mem_size)
     * @param aboveFourGiB RAM mapped above 4 GiB in bytes
     * @param cpus         number of CPUs (QEMU stores cpus - 1 at 0x5f)
     * @param irq          IRQ 8
     * @param clock        host clock ({@link Clock#systemUTC()} normally)
     * @param hostZone     the host's time zone, for base=localtime
     * @param options      -rtc settings
     * @param timers       runs the interrupt timers (shared with other devices; not shut down by
     *                     {@link #close()}); null: a daemon thread of its own is created when first needed
     */
    public CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, Clock clock, ZoneId hostZone,
                   RtcOptions options, ScheduledExecutorService timers) {
        this(belowFourGiB, aboveFourGiB, cpus, irq, clock, hostZone, options, timers, true, timers == null);
    }

    /** No timers at all: interrupts are raised only when {@link #runTimers()} is called (fake-clock tests). */
    static CmosRtc withoutTimers(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, Clock clock,
                                 ZoneId hostZone, RtcOptions options) {
        return new CmosRtc(belowFourGiB, aboveFourGiB, cpus, irq, clock, hostZone, options, null, false, false);
    }

    private CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, Clock clock, ZoneId hostZone,
                    RtcOptions options, ScheduledExecutorService timers, boolean timersEnabled, boolean ownsTimers) {
        this.clock = clock;
        this.hostZone = hostZone == null ? ZoneOffset.UTC : hostZone;
        this.options = options == null ? RtcOptions.DEFAULT : options;
        this.irq = irq == null ? IrqLine.NONE : irq;
        this.timers = timers;
        this.timersEnabled = timersEnabled;
        this.ownsTimers = ownsTimers;
        cmos[RTC_REG_A] = 0x26;
        cmos[RTC_REG_B] = REG_B_24H;
        cmos[RTC_REG_C] = 0;
        cmos[RTC_REG_D] = (byte) REG_D_VRT;
        setMemorySizes(belowFourGiB, aboveFourGiB, cpus);
        cmos[EQUIPMENT] = (byte) (EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE);
        setBootOrder("cad", true);
        long host = hostNanos();
        startNanos = host;
        lastUpdateNanos = host;
        long hostSeconds = Math.floorDiv(host, NANOS_PER_SECOND);
        phaseNanos = Math.floorMod(host, NANOS_PER_SECOND);
        switch (this.options.base()) {
            case UTC -> {
                baseRtcSeconds = hostSeconds;
                hostDatetimeOffset = 0;
            }
            case LOCALTIME -> {
                baseRtcSeconds = hostSeconds + this.hostZone.getRules()
                        .getOffset(Instant.ofEpochSecond(hostSeconds)).getTotalSeconds();
                hostDatetimeOffset = 0;
            }
            default -> {
                baseRtcSeconds = this.options.baseEpochSeconds();
                hostDatetimeOffset = hostSeconds - this.options.baseEpochSeconds();
            }
        }
        latchTime(guestNanos());
        flagsSecond = Math.floorDiv(guestNanos(), NANOS_PER_SECOND);
    }

    /** -rtc defaults (base=utc, clock=host) and a lazily created timer thread. */
    public CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, Clock clock) {
        this(belowFourGiB, aboveFourGiB, cpus, irq, clock, ZoneId.systemDefault(), RtcOptions.DEFAULT,
                null, true, true);
    }

    /** With -rtc options, the host's zone and clock, and a lazily created timer thread. */
    public CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, RtcOptions options) {
        this(belowFourGiB, aboveFourGiB, cpus, irq, Clock.systemUTC(), ZoneId.systemDefault(), options,
                null, true, true);
    }

    /**
     * QEMU pc's boot-order bytes (0x3d, 0x38) from -boot order= letters: a/b floppy, c disk, d CD-ROM,
     * n network, at most three. The default "cad" is set by the constructor.
     *
     * @throws IllegalArgumentException with QEMU's text ("Invalid boot device for PC: 'x'",
     *                                  "Too many boot devices for PC")
     */
    public synchronized void setBootOrder(String order, boolean floppyBootSignatureCheck) {
        if (order.length() > 3) {
            throw new IllegalArgumentException("Too many boot devices for PC");
        }
        int[] nibbles = new int[3];
        for (int i = 0; i < order.length(); i++) {
            char c = order.charAt(i);
            nibbles[i] = switch (c) {
                case 'a', 'b' -> 1;
                case 'c' -> 2;
                case 'd' -> 3;
                case 'n' -> 4;
                default -> throw new IllegalArgumentException("Invalid boot device for PC: '" + c + "'");
            };
        }
        cmos[BOOT_ORDER_1_2] = (byte) ((nibbles[1] << 4) | nibbles[0]);
        cmos[BOOT_ORDER_3] = (byte) ((nibbles[2] << 4) | (floppyBootSignatureCheck ? 0 : 1));
    }

    public CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq) {
        this(belowFourGiB, aboveFourGiB, cpus, irq, Clock.systemUTC());
    }

    /** The NVRAM bytes QEMU's pc machine fills in (pc_cmos_init). */
    private void setMemorySizes(long below, long above, int cpus) {
        setWord(0x15, 640);                        // base memory in KiB
        long ext = below / 1024 - 1024;            // KiB above 1 MiB
        ext = Math.max(0, Math.min(ext, 65535));
        setWord(0x17, (int) ext);
        setWord(0x30, (int) ext);
        long high = below > 16 * MIB ? (below - 16 * MIB) / 65536 : 0;
        high = Math.min(high, 65535);
        setWord(0x34, (int) high);
        long above64k = above / 65536;
        cmos[0x5b] = (byte) above64k;
        cmos[0x5c] = (byte) (above64k >>> 8);
        cmos[0x5d] = (byte) (above64k >>> 16);
        cmos[0x5f] = (byte) Math.max(0, cpus - 1);
    }

    private void setWord(int at, int value) {
        cmos[at] = (byte) value;
        cmos[at + 1] = (byte) (value >>> 8);
    }

    public void attach(PioBus bus) {
        bus.register(BASE, PORT_COUNT, this);
    }

    /**
     * Called whenever the guest sets the time, exactly where QEMU 7.2 emits RTC_CHANGE: a time register
     * written while the clock runs, SET cleared while the dividers run, the dividers taken out of reset
     * while SET is clear. The value is QEMU's "offset": the new register time (read in the host zone for
     * base=localtime) minus the host UTC time, in whole seconds (for a base=DATETIME, minus the time
     * since start added to the base instead). Runs on the writing vCPU thread, outside the device lock.
     */
    public void setTimeChangeListener(LongConsumer listener) {
        timeChangeListener = listener == null ? s -> { } : listener;
    }

    /** Where the alarm asks for a wake-up from S3 (the machine); none by default. */
    public void setWakeup(SystemWakeup machine) {
        wakeup = machine == null ? SystemWakeup.NONE : machine;
    }

    /** Guest RTC minus host UTC, whole seconds (the guest time as currently running, not QEMU's event). */
    public synchronized long offsetSeconds() {
        long host = hostNanos();
        return Math.floorDiv(guestNanos(), NANOS_PER_SECOND) - Math.floorDiv(host, NANOS_PER_SECOND);
    }

    public RtcOptions options() {
        return options;
    }

    /** A CMOS byte as stored (time registers as last latched); for the machine and tests. */
    public synchronized int cmosByte(int at) {
        return cmos[at & 0x7f] & 0xff;
    }

    /** Machine setup may store further NVRAM bytes (boot order, disk types) before the guest runs. */
    public synchronized void setCmosByte(int at, int value) {
        cmos[at & 0x7f] = (byte) value;
    }

    // ---- machine hooks ------------------------------------------------------------------------------

    /**
     * System reset, as QEMU's rtc_reset: the time and NVRAM stay (so the RTC_CHANGE offset survives),
     * PIE/AIE/SQWE and the register C flags clear, IRQ 8 drops, the shutdown-status byte 0x0f clears
     * unless it holds the S3-resume value 0xfe. UIE is kept, as QEMU does.
     */
    public void reset() {
        synchronized (this) {
            if ((cmos[SHUTDOWN_STATUS] & 0xff) != SHUTDOWN_S3_RESUME) {
                cmos[SHUTDOWN_STATUS] = 0;
            }
            cmos[RTC_REG_B] &= (byte) ~(REG_B_PIE | REG_B_AIE | REG_B_SQWE);
            cmos[RTC_REG_C] &= (byte) ~(REG_C_UF | REG_C_IRQF | REG_C_PF | REG_C_AF);
            flagsSecond = Math.floorDiv(guestNanos(), NANOS_PER_SECOND);
            if (options.driftFix() == RtcOptions.DriftFix.SLEW) {
                coalescedTicks = 0;
                reinjectOnAckCount = 0;
            }
            reschedule();
            setIrq(false);
        }
    }

    /**
     * The guest entered S3: the shutdown-status byte says "resume" (QEMU's rtc_notify_suspend), which firmware
     * reads on the reset that wakes the machine to jump to the waking vector instead of booting.
     */
    public synchronized void markSuspended() {
        cmos[SHUTDOWN_STATUS] = (byte) SHUTDOWN_S3_RESUME;
    }

    /** What firmware does once it has taken the resume path: the shutdown-status byte back to 0. */
    public synchronized void clearShutdownStatus() {
        cmos[SHUTDOWN_STATUS] = 0;
    }

    /** The VM stopped: with clock=vm the guest time stands still until {@link #resume()}. */
    public synchronized void pause() {
        if (options.clock() == RtcOptions.ClockSource.VM && pausedAtNanos < 0) {
            pausedAtNanos = hostNanos();
            reschedule();
        }
    }

    /**
     * The vCPUs stopped for S3 while the VM did not: with clock=vm the guest time goes on, but no interrupt
     * timer fires (so the alarm wakes nothing) until {@link #releaseTimers()}, as QEMU's virtual-clock timers
     * while pause_all_vcpus holds that clock. With clock=host or rt nothing changes.
     */
    public synchronized void holdTimers() {
        if (options.clock() == RtcOptions.ClockSource.VM && !timersHeld) {
            timersHeld = true;
            reschedule();
        }
    }

    /** The vCPUs run again (or the machine leaves S3 some other way): timers are armed again. */
    public synchronized void releaseTimers() {
        if (timersHeld) {
            timersHeld = false;
            reschedule();
        }
    }

    /** The VM runs again. */
    public synchronized void resume() {
        if (pausedAtNanos >= 0) {
            pausedTotalNanos += hostNanos() - pausedAtNanos;
            pausedAtNanos = -1;
            reschedule();
        }
    }

    /**
     * QMP rtc-reset-reinjection: forgets periodic interrupts owed to the guest. QEMU keeps that backlog
     * only with driftfix=slew and answers {} either way (checked: also with driftfix=none).
     */
    public synchronized void resetReinjection() {
        if (options.driftFix() == RtcOptions.DriftFix.SLEW) {
            coalescedTicks = 0;
            reinjectOnAckCount = 0;
        }
    }

    /**
     * driftfix=slew: periodic ticks that came while the previous one was still unacknowledged (PF set),
     * still to be re-injected; 0 with driftfix=none, where they are simply merged.
     */
    public synchronized long coalescedTicks() {
        return coalescedTicks;
    }

    /** Stops the timer thread if this RTC created it. */
    public synchronized void close() {
        cancelPending();
        if (ownsTimers && timers != null) {
            timers.shutdownNow();
        }
    }

    // ---- saved state ----------------------------------------------------------------------------------

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * The -rtc options (checked), all 128 bytes, the index, the guest time as QEMU keeps it (base seconds,
     * time since that base, sub-second phase), the second the flags were last brought up to date, the
     * periodic grid and next tick relative to now, the driftfix backlog and the IRQ level. Times are
     * saved relative to the rtc clock's now, so they can be re-armed against another instance's clock.
     * Whether the VM or its timers are paused is run state that the restoring machine sets.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        saveOptions(w);
        long now = rtcNanos();
        boolean pie = (cmos[RTC_REG_B] & REG_B_PIE) != 0;
        w.bytes("cmos", cmos).u8("index", index).u64("rtc-ns", now).u64("base-seconds", baseRtcSeconds)
                .u64("since-base-ns", now - lastUpdateNanos).u64("phase-ns", phaseNanos)
                .u64("flags-second", flagsSecond).u64("periodic-elapsed-ns", now - startNanos)
                .u64("next-periodic-in-ns", pie && nextPeriodicNanos != Long.MAX_VALUE
                        ? nextPeriodicNanos - now : Long.MAX_VALUE)
                .u64("coalesced", coalescedTicks).u8("reinjected", reinjectOnAckCount).bool("irq", irqHigh);
    }

    private void saveOptions(StateWriter w) {
        w.str("base", options.base().name()).u64("base-epoch", options.baseEpochSeconds())
                .str("clock", options.clock().name()).str("driftfix", options.driftFix().name());
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        r.expectStr("base", options.base().name());
        r.expectU64("base-epoch", options.baseEpochSeconds());
        r.expectStr("clock", options.clock().name());
        r.expectStr("driftfix", options.driftFix().name());
        byte[] bytes = new byte[CMOS_SIZE];
        r.bytes("cmos", bytes);
        int idx = r.u8("index", CMOS_SIZE - 1);
        long savedNow = r.u64("rtc-ns");
        long base = r.u64("base-seconds", -MAX_GUEST_SECONDS, MAX_GUEST_SECONDS);
        long since = r.u64("since-base-ns", 0, Long.MAX_VALUE / 2);
        long phase = r.u64("phase-ns", 0, NANOS_PER_SECOND - 1);
        long guestSecond;
        try {
            guestSecond = Math.floorDiv(Math.addExact(Math.multiplyExact(base, NANOS_PER_SECOND), since + phase),
                    NANOS_PER_SECOND);
        } catch (ArithmeticException e) {
            throw r.invalid("since-base-ns", "the guest time it gives is out of range");
        }
        long flags = r.u64("flags-second", Long.MIN_VALUE, guestSecond);
        long elapsed = r.u64("periodic-elapsed-ns", 0, Long.MAX_VALUE / 4);
        long nextIn = r.u64("next-periodic-in-ns");
        boolean pie = (bytes[RTC_REG_B] & REG_B_PIE) != 0;
        if (nextIn != Long.MAX_VALUE && (!pie || nextIn < -elapsed || nextIn > NANOS_PER_SECOND)) {
            throw r.invalid("next-periodic-in-ns", nextIn + " is not a tick within a period of now"
                    + (pie ? "" : " (and PIE is clear)"));
        }
        long coalesced = r.u64("coalesced", 0,
                options.driftFix() == RtcOptions.DriftFix.SLEW ? Long.MAX_VALUE : 0);
        int reinjected = r.u8("reinjected", REINJECT_ON_ACK_COUNT);
        boolean level = r.bool("irq");

        long now = rtcNanos();
        long sinceNow = since;
        if (options.clock() != RtcOptions.ClockSource.VM) {
            try {
                sinceNow = Math.addExact(since, Math.subtractExact(now, savedNow));
                Math.addExact(Math.multiplyExact(base, NANOS_PER_SECOND), sinceNow + phase);
            } catch (ArithmeticException e) {
                throw r.invalid("rtc-ns", savedNow + " puts the guest time out of range on this clock");
            }
        }
        System.arraycopy(bytes, 0, cmos, 0, CMOS_SIZE);
        index = idx;
        baseRtcSeconds = base;
        // clock=vm stood still while saved; host and rt time went on, so the guest's offset to it is kept.
        lastUpdateNanos = now - sinceNow;
        phaseNanos = phase;
        flagsSecond = flags;
        // The periodic interrupt is guest-facing rhythm, not wall time: it resumes where it was.
        startNanos = now - elapsed;
        nextPeriodicNanos = nextIn == Long.MAX_VALUE ? Long.MAX_VALUE : now + nextIn;
        coalescedTicks = coalesced;
        reinjectOnAckCount = reinjected;
        cancelPending();
        setIrq(level);
        reschedule();
    }

    // ---- port access --------------------------------------------------------------------------------

    @Override
    public long read(long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) (readByte(offset + i) & 0xff) << (8 * i);
        }
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            writeByte(offset + i, (int) (value >>> (8 * i)) & 0xff);
        }
    }

    private int readByte(long port) {
        if (port != 1) {
            return 0xff; // the index port is write-only
        }
        int ret;
        synchronized (this) {
            int at = index == RTC_IBM_PS2_CENTURY_BYTE ? RTC_CENTURY : index;
            switch (at) {
                case RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH,
                        RTC_YEAR, RTC_CENTURY -> {
                    if (running()) {
                        latchTime(guestNanos());
                    }
                    return cmos[at] & 0xff;
                }
                case RTC_REG_A -> {
                    ret = cmos[RTC_REG_A] & ~REG_A_UIP & 0xff;
                    if (updateInProgress()) {
                        ret |= REG_A_UIP;
                    }
                    return ret;
                }
                case RTC_REG_C -> {
                    syncFlags();
                    ret = cmos[RTC_REG_C] & 0xff;
                    cmos[RTC_REG_C] = 0;
                    setIrq(false); // QEMU lowers the line on every register C read
                    if (coalescedTicks > 0 && (cmos[RTC_REG_B] & REG_B_PIE) != 0
                            && reinjectOnAckCount < REINJECT_ON_ACK_COUNT) {
                        // driftfix=slew: the acknowledgement of one tick delivers a missed one at once.
                        reinjectOnAckCount++;
                        coalescedTicks--;
                        cmos[RTC_REG_C] = (byte) (REG_C_IRQF | REG_C_PF);
                        setIrq(true);
                    }
                    reschedule();
                }
                default -> {
                    return cmos[at] & 0xff;
                }
            }
        }
        return ret;
    }

    private void writeByte(long port, int data) {
        if (port == 0) {
            synchronized (this) {
                index = data & ~INDEX_NMI_DISABLE; // bit 7 gates NMI on the PC, not part of the index
            }
            return;
        }
        if (port != 1) {
            return;
        }
        boolean changed = false;
        long event = 0;
        int line = 0; // +1 raise, -1 lower
        synchronized (this) {
            int at = index == RTC_IBM_PS2_CENTURY_BYTE ? RTC_CENTURY : index;
            switch (at) {
                case RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH,
                        RTC_YEAR, RTC_CENTURY -> {
                    if (running()) {
                        // Registers hold the current time; replace one and take the result as the new time.
                        latchTime(guestNanos());
                        cmos[at] = (byte) data;
                        event = setTimeFromRegisters();
                        changed = true;
                        reschedule();
                    } else {
                        cmos[at] = (byte) data;
                    }
                }
                case RTC_REG_A -> {
                    if (syncFlags()) {
                        line = 1;
                    }
                    int old = cmos[RTC_REG_A] & 0xff;
                    if ((data & REG_A_DV_RESET) == REG_A_DV_RESET) {
                        if (running()) {
                            latchTime(guestNanos());
                        }
                    } else if ((old & REG_A_DV_RESET) == REG_A_DV_RESET && (data & REG_A_DV_MASK) <= REG_A_DV_32KHZ
                            && (cmos[RTC_REG_B] & REG_B_SET) == 0) {
                        // Data sheet: the first update after the reset is removed comes half a second later.
                        phaseNanos = NANOS_PER_SECOND / 2;
                        cmos[RTC_REG_A] = (byte) data;
                        event = setTimeFromRegisters();
                        changed = true;
                    }
                    cmos[RTC_REG_A] = (byte) (data & ~REG_A_UIP);
                    if (((old ^ data) & REG_A_RS_MASK) != 0) {
                        nextPeriodicNanos = nextPeriodicAfter(rtcNanos());
                    }
                    if ((old & REG_A_DV_RESET) == REG_A_DV_RESET || (data & REG_A_DV_RESET) == REG_A_DV_RESET) {
                        flagsSecond = Math.floorDiv(guestNanos(), NANOS_PER_SECOND);
                    }
                    reschedule();
                }
                case RTC_REG_B -> {
                    syncFlags();
                    int old = cmos[RTC_REG_B] & 0xff;
                    if ((data & REG_B_SET) != 0) {
                        if (running()) {
                            latchTime(guestNanos()); // the registers keep the time the clock stopped at
                        }
                        data &= ~REG_B_UIE;
                    } else if ((old & REG_B_SET) != 0 && (cmos[RTC_REG_A] & REG_A_DV_MASK) <= REG_A_DV_32KHZ) {
                        phaseNanos = Math.floorMod(guestNanos(), NANOS_PER_SECOND);
                        event = setTimeFromRegisters();
                        changed = true;
                    }
                    // An interrupt whose flag is already set fires as soon as it is enabled.
                    if ((data & cmos[RTC_REG_C] & REG_C_MASK) != 0) {
                        cmos[RTC_REG_C] |= (byte) REG_C_IRQF;
                        line = 1;
                    } else {
                        cmos[RTC_REG_C] &= (byte) ~REG_C_IRQF;
                        line = -1;
                    }
                    if (((old ^ data) & REG_B_PIE) != 0) {
                        nextPeriodicNanos = nextPeriodicAfter(rtcNanos());
                    }
                    cmos[RTC_REG_B] = (byte) data;
                    reschedule();
                }
                case RTC_SECONDS_ALARM, RTC_MINUTES_ALARM, RTC_HOURS_ALARM -> {
                    // Seconds already past were matched against the old alarm; the new one counts from now.
                    if (syncFlags()) {
                        line = 1;
                    }
                    cmos[at] = (byte) data;
                    reschedule();
                }
                case RTC_REG_C, RTC_REG_D -> {
                    // read-only
                }
                default -> cmos[at] = (byte) data;
            }
            if (line != 0) {
                setIrq(line > 0);
            }
        }
        if (changed) {
            timeChangeListener.accept(event);
        }
    }

    // ---- interrupts ---------------------------------------------------------------------------------

    /**
     * Brings register C up to the current time and raises IRQ 8 if a newly set flag is enabled in
     * register B. The timer thread calls this at each deadline; tests with a fake clock call it directly.
     */
    public synchronized void runTimers() {
        pendingDeadline = Long.MIN_VALUE;
        pending = null;
        if (timersHeld) {
            return; // a task that was already on its way when the timers were held
        }
        if (syncFlags()) {
            setIrq(true);
        }
        reschedule();
    }

    /**
     * Drives IRQ 8, under the device lock so a timer's raise cannot land after a vCPU's register C read
     * has lowered it; only changes are passed on, as QEMU's raise/lower of a line already there is a no-op.
     */
    private void setIrq(boolean high) {
        if (irqHigh != high) {
            irqHigh = high;
            irq.setLevel(high);
        }
    }

    /** Sets PF/UF/AF for whatever happened since the last sync; true when IRQ 8 must go up. */
    private boolean syncFlags() {
        if (dividersInReset()) {
            return false; // "Holding the dividers in reset prevents interrupts from operating"
        }
        int flags = 0;
        long now = rtcNanos();
        int b = cmos[RTC_REG_B] & 0xff;
        if ((b & REG_B_PIE) != 0 && periodicTicks() != 0 && now >= nextPeriodicNanos) {
            flags |= REG_C_PF;
            if (options.driftFix() == RtcOptions.DriftFix.SLEW) {
                // Ticks since the last one seen; all but a newly delivered one are owed to the guest.
                double periodNanos = periodicTicks() * (double) NANOS_PER_SECOND / RTC_CLOCK_HZ;
                long ticks = 1 + (long) ((now - nextPeriodicNanos) / periodNanos);
                boolean delivered = (cmos[RTC_REG_C] & REG_C_PF) == 0;
                coalescedTicks += delivered ? ticks - 1 : ticks;
                if (delivered && reinjectOnAckCount >= REINJECT_ON_ACK_COUNT) {
                    reinjectOnAckCount = 0;
                }
            }
            nextPeriodicNanos = nextPeriodicAfter(now);
        }
        long second = Math.floorDiv(guestNanos(), NANOS_PER_SECOND);
        if (second > flagsSecond) {
            flags |= REG_C_UF;
            long alarm = nextAlarmSecond(flagsSecond);
            if (alarm >= 0 && alarm <= second) {
                flags |= REG_C_AF;
                if ((b & REG_B_AIE) != 0) {
                    wakeup.request(WakeupReason.RTC); // a no-op unless the guest is suspended
                }
            }
            flagsSecond = second;
            if (running()) {
                latchTime(second * NANOS_PER_SECOND); // QEMU's update cycle refreshes the registers
            }
        }
        int c = cmos[RTC_REG_C] & 0xff;
        int fresh = flags & ~c;
        c |= flags;
        boolean raise = false;
        if ((fresh & b) != 0 || ((flags & REG_C_PF) != 0 && (b & REG_B_PIE) != 0)) {
            c |= REG_C_IRQF;
            raise = true;
        }
        cmos[RTC_REG_C] = (byte) c;
        return raise;
    }

    /** Schedules one task for the earliest interrupt that is enabled and not already flagged. */
    private void reschedule() {
        if (!timersEnabled) {
            return;
        }
        long deadline = Long.MAX_VALUE;
        int b = cmos[RTC_REG_B] & 0xff;
        int c = cmos[RTC_REG_C] & 0xff;
        if (!dividersInReset() && pausedAtNanos < 0 && !timersHeld) {
            if ((b & REG_B_PIE) != 0 && (c & REG_C_PF) == 0 && periodicTicks() != 0) {
                deadline = Math.min(deadline, nextPeriodicNanos);
            }
            long guest = guestNanos();
            long toNextSecond = NANOS_PER_SECOND - Math.floorMod(guest, NANOS_PER_SECOND);
            long nextSecondAt = rtcNanos() + toNextSecond;
            if ((b & REG_B_UIE) != 0 && (c & REG_C_UF) == 0) {
                deadline = Math.min(deadline, nextSecondAt);
            }
            if ((b & REG_B_AIE) != 0 && (c & REG_C_AF) == 0) {
                long alarm = nextAlarmSecond(flagsSecond);
                if (alarm >= 0) {
                    long current = Math.floorDiv(guest, NANOS_PER_SECOND);
                    deadline = Math.min(deadline, nextSecondAt + Math.max(0, alarm - current - 1) * NANOS_PER_SECOND);
                }
            }
        }
        if (pending != null && pendingDeadline <= deadline) {
            return; // an early wake-up is harmless (it syncs and re-arms); cancelling costs more
        }
        cancelPending();
        if (deadline == Long.MAX_VALUE) {
            return;
        }
        if (timers == null) {
            timers = createTimers();
        }
        long delay = Math.max(0, deadline - rtcNanos());
        try {
            pending = timers.schedule(timerTask, delay, TimeUnit.NANOSECONDS);
            pendingDeadline = deadline;
        } catch (RejectedExecutionException e) {
            // The machine is shutting down its timers: flags stay readable, interrupts simply stop.
        }
    }

    private void cancelPending() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
        pendingDeadline = Long.MIN_VALUE;
    }

    private static ScheduledExecutorService createTimers() {
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "rtc-timer");
            t.setDaemon(true);
            return t;
        });
        pool.setRemoveOnCancelPolicy(true); // a re-armed timer must not leave dead tasks queued
        return pool;
    }

    /** Period in 32.768 kHz cycles for register A's rate select, as QEMU: 0 = off, 1 and 2 alias 8 and 9. */
    static long periodForRate(int rate) {
        if (rate == 0) {
            return 0;
        }
        int code = rate <= 2 ? rate + 7 : rate;
        return 1L << (code - 1);
    }

    private long periodicTicks() {
        return periodForRate(cmos[RTC_REG_A] & REG_A_RS_MASK);
    }

    /** The next periodic tick strictly after {@code now}, on the 32.768 kHz grid counted from start. */
    private long nextPeriodicAfter(long now) {
        long period = periodicTicks();
        if (period == 0) {
            return Long.MAX_VALUE;
        }
        long elapsed = Math.max(0, now - startNanos);
        // Split at whole seconds so elapsed * 32768 cannot overflow however long the VM runs.
        long cycles = elapsed / NANOS_PER_SECOND * RTC_CLOCK_HZ
                + elapsed % NANOS_PER_SECOND * RTC_CLOCK_HZ / NANOS_PER_SECOND;
        long next = (cycles / period + 1) * period;
        // Round up so the tick is not seen before its cycle has begun.
        return startNanos + next / RTC_CLOCK_HZ * NANOS_PER_SECOND
                + (next % RTC_CLOCK_HZ * NANOS_PER_SECOND + RTC_CLOCK_HZ - 1) / RTC_CLOCK_HZ;
    }

    /**
     * First guest second after {@code from} whose time of day matches the alarm registers (0xc0-0xff:
     * any value), or -1 when none can match (an alarm value out of range never fires).
     */
    private long nextAlarmSecond(long from) {
        int as = alarmValue(RTC_SECONDS_ALARM, false);
        int am = alarmValue(RTC_MINUTES_ALARM, false);
        int ah = alarmValue(RTC_HOURS_ALARM, true);
        if (as == -2 || am == -2 || ah == -2) {
            return -1;
        }
        long dayStart = Math.floorDiv(from, 86400) * 86400;
        int tod = (int) (from - dayStart);
        int ch = tod / 3600;
        int cm = tod / 60 % 60;
        int cs = tod % 60;
        for (int dh = 0; dh <= 24; dh++) {
            int hour = (ch + dh) % 24;
            if (ah >= 0 && hour != ah) {
                continue;
            }
            for (int m = dh == 0 ? cm : 0; m < 60; m++) {
                if (am >= 0 && m != am) {
                    continue;
                }
                int first = dh == 0 && m == cm ? cs + 1 : 0;
                int s = as >= 0 ? (as >= first ? as : -1) : (first < 60 ? first : -1);
                if (s >= 0) {
                    return dayStart + (long) (ch + dh) * 3600 + m * 60L + s;
                }
            }
        }
        return -1;
    }

    /** An alarm register as a number: -1 don't care, -2 out of range (never matches). */
    private int alarmValue(int reg, boolean hours) {
        int raw = cmos[reg] & 0xff;
        if ((raw & ALARM_DONT_CARE) == ALARM_DONT_CARE) {
            return -1;
        }
        int v;
        if (hours) {
            v = fromBcd(raw & 0x7f);
            if ((cmos[RTC_REG_B] & REG_B_24H) == 0) {
                v %= 12;
                if ((raw & HOURS_PM) != 0) {
                    v += 12;
                }
            } else if ((raw & HOURS_PM) != 0) {
                return -2;
            }
            return v < 24 ? v : -2;
        }
        v = fromBcd(raw);
        return v < 60 ? v : -2;
    }

    // ---- time ---------------------------------------------------------------------------------------

    private boolean running() {
        return (cmos[RTC_REG_B] & REG_B_SET) == 0 && (cmos[RTC_REG_A] & REG_A_DV_MASK) <= REG_A_DV_32KHZ;
    }

    private boolean dividersInReset() {
        return (cmos[RTC_REG_A] & REG_A_DV_RESET) == REG_A_DV_RESET;
    }

    private boolean updateInProgress() {
        if (!running()) {
            return false;
        }
        long sub = Math.floorMod(guestNanos(), NANOS_PER_SECOND);
        return sub >= NANOS_PER_SECOND - UIP_HOLD_NANOS;
    }

    private long hostNanos() {
        Instant now = clock.instant();
        return now.getEpochSecond() * NANOS_PER_SECOND + now.getNano();
    }

    /** The clock the RTC counts on: the host clock, less time paused when clock=vm. */
    private long rtcNanos() {
        long host = hostNanos();
        long paused = pausedTotalNanos + (pausedAtNanos >= 0 ? host - pausedAtNanos : 0);
        return host - paused;
    }

    /** QOM's "date": the guest's RTC time as a C struct tm (years since 1900, months from 0). */
    public synchronized java.util.Map<String, Object> dateTm() {
        java.time.LocalDateTime t = java.time.LocalDateTime.ofEpochSecond(
                Math.floorDiv(guestNanos(), NANOS_PER_SECOND), 0, java.time.ZoneOffset.UTC);
        java.util.Map<String, Object> tm = new java.util.LinkedHashMap<>();
        tm.put("tm_year", (long) t.getYear() - 1900);
        tm.put("tm_sec", (long) t.getSecond());
        tm.put("tm_hour", (long) t.getHour());
        tm.put("tm_min", (long) t.getMinute());
        tm.put("tm_mon", (long) t.getMonthValue() - 1);
        tm.put("tm_mday", (long) t.getDayOfMonth());
        return tm;
    }

    /** Guest RTC time, epoch nanoseconds, the registers' fields read as UTC. */
    private long guestNanos() {
        return baseRtcSeconds * NANOS_PER_SECOND + (rtcNanos() - lastUpdateNanos) + phaseNanos;
    }

    /** Writes guest time (epoch nanoseconds) into the time registers in the current B format. */
    private void latchTime(long guestNanos) {
        long seconds = Math.floorDiv(guestNanos, NANOS_PER_SECOND);
        LocalDateTime t = LocalDateTime.ofEpochSecond(seconds, 0, ZoneOffset.UTC);
        cmos[RTC_SECONDS] = (byte) toBcd(t.getSecond());
        cmos[RTC_MINUTES] = (byte) toBcd(t.getMinute());
        int hour = t.getHour();
        if ((cmos[RTC_REG_B] & REG_B_24H) != 0) {
            cmos[RTC_HOURS] = (byte) toBcd(hour);
        } else {
            int h12 = hour % 12 == 0 ? 12 : hour % 12;
            cmos[RTC_HOURS] = (byte) (toBcd(h12) | (hour >= 12 ? HOURS_PM : 0));
        }
        cmos[RTC_DAY_OF_WEEK] = (byte) toBcd(t.getDayOfWeek().getValue() % 7 + 1); // 1 = Sunday
        cmos[RTC_DAY_OF_MONTH] = (byte) toBcd(t.getDayOfMonth());
        cmos[RTC_MONTH] = (byte) toBcd(t.getMonthValue());
        int year = t.getYear();
        cmos[RTC_YEAR] = (byte) toBcd(Math.floorMod(year, 100));
        cmos[RTC_CENTURY] = (byte) toBcd(Math.floorDiv(year, 100));
    }

    /**
     * Reads the time registers as a date and makes it the guest time from now on (keeping the sub-second
     * phase, as QEMU's rtc_set_time). Garbage (BCD digits above 9, month 0, hour 25) is normalised the way
     * mktime does rather than rejected. Returns QEMU's RTC_CHANGE offset for the new time.
     */
    private long setTimeFromRegisters() {
        long sec = fromBcd(cmos[RTC_SECONDS] & 0xff);
        long min = fromBcd(cmos[RTC_MINUTES] & 0xff);
        int rawHours = cmos[RTC_HOURS] & 0xff;
        long hour = fromBcd(rawHours & 0x7f);
        if ((cmos[RTC_REG_B] & REG_B_24H) == 0) {
            hour %= 12;
            if ((rawHours & HOURS_PM) != 0) {
                hour += 12;
            }
        }
        long mday = fromBcd(cmos[RTC_DAY_OF_MONTH] & 0xff);
        long month = fromBcd(cmos[RTC_MONTH] & 0xff);
        long year = fromBcd(cmos[RTC_YEAR] & 0xff) + 100L * fromBcd(cmos[RTC_CENTURY] & 0xff);
        long guestSeconds = civilToEpochDays(year, month, mday) * 86400 + hour * 3600 + min * 60 + sec;
        baseRtcSeconds = guestSeconds;
        lastUpdateNanos = rtcNanos();
        flagsSecond = Math.floorDiv(guestNanos(), NANOS_PER_SECOND); // QEMU re-arms from the new time
        long asSet = guestSeconds;
        if (options.base() == RtcOptions.Base.LOCALTIME) {
            // QEMU reads the registers with mktime in the host zone.
            asSet = guestSeconds - hostZone.getRules()
                    .getOffset(LocalDateTime.ofEpochSecond(guestSeconds, 0, ZoneOffset.UTC)).getTotalSeconds();
        }
        long hostSeconds = Math.floorDiv(hostNanos(), NANOS_PER_SECOND) - hostDatetimeOffset;
        return asSet - hostSeconds;
    }

    /**
     * Days since 1970-01-01 by the March-based day count (month 1-12, day 1-31) that QEMU's mktimegm
     * uses. Out-of-range fields extrapolate through the same formula instead of failing, so a guest's
     * garbage lands on the same date as under QEMU.
     */
    static long civilToEpochDays(long year, long month, long day) {
        long y = year;
        long m = month;
        if (m < 3) {
            m += 12;
            y--;
        }
        return day + (153 * m - 457) / 5 + 365 * y + y / 4 - y / 100 + y / 400 - 719469;
    }

    private int toBcd(int v) {
        if ((cmos[RTC_REG_B] & REG_B_DM) != 0) {
            return v & 0xff;
        }
        return ((v / 10) << 4) | (v % 10);
    }

    /** As QEMU: 0xc0-0xff is "don't care" (-1); in BCD mode each nibble counts as a digit, even A-F. */
    private int fromBcd(int v) {
        if ((v & 0xc0) == 0xc0) {
            return -1;
        }
        if ((cmos[RTC_REG_B] & REG_B_DM) != 0) {
            return v;
        }
        return (v >> 4) * 10 + (v & 0x0f);
    }
}
