package dev.jvmm.devices.timer;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

import java.util.function.IntFunction;

/**
 * IA-PC HPET (High Precision Event Timers) Specification 1.0a, section 2.3 "Register Descriptions": the
 * event timer block QEMU 7.2's pc machine maps at 0xfed00000 (hw/timer/hpet.c), with its register semantics,
 * quirks included.
 *
 * <p>A 64-bit main counter at 100 MHz (10 ns per tick) runs on guest time ({@link VirtualClock}, QEMU's
 * QEMU_CLOCK_VIRTUAL) while {@link #ENABLE_CNF} is set, and 3 to 32 timers compare against it, one-shot or
 * periodic, in 64- or 32-bit mode, edge or level, to an IOAPIC input ({@link #Tn_INT_ROUTE_CNF}), to a
 * memory write ({@link #Tn_FSB_EN_CNF}), or in legacy replacement mode timer 0 to GSI 0 and timer 1 to GSI 8.
 * Only aligned 32-bit pieces of an access reach the registers, as QEMU's region accepts only those; a 64-bit
 * access is two of them, low half first.
 *
 * <p>Like QEMU, the registers of timer {@code timers} (one past the last) answer too: QEMU checks the timer
 * index with {@code >} instead of {@code >=}, and a guest sees that slot's registers (zero after power-on,
 * untouched by reset). Where QEMU hangs on guest garbage (a periodic catch-up loop that never ends), this
 * device computes the loop's result in one step or stops the timer; nothing a guest writes throws.
 *
 * <p>Legacy replacement: QEMU routes the RTC's interrupt through the HPET, which passes it on to GSI 8 only
 * outside legacy mode; {@link #rtcInput()} is that input, the line the board gives the RTC. The PIT's output
 * is gated by the {@link LegacyRouting} listener (QEMU's "pit_enabled" GPIO; with KVM's in-kernel PIT, QEMU
 * sets KVM_PIT_FLAGS_HPET_LEGACY in kvm_pit_state2.flags while the PIT is disabled).
 *
 * <p>Thread-safety: accesses arrive on vCPU threads, expiries on the clock's timer thread, the RTC input on
 * the RTC's; all state is guarded by this object.
 */
public final class Hpet implements IoHandler, Saveable {
    /** QEMU's HPET_BASE: where the pc machine maps the block. */
    public static final long HPET_BASE = 0xfed00000L;
    /** QEMU's HPET_LEN: the block's region is 1 KiB. */
    public static final int HPET_LEN = 0x400;

    /** Section 2.3.4: General Capabilities and ID Register (low dword; the high dword is the period). */
    public static final int GCAP_ID = 0x000;
    /** Section 2.3.4: COUNTER_CLK_PERIOD, the high dword of GCAP_ID. */
    public static final int COUNTER_CLK_PERIOD = 0x004;
    /** Section 2.3.5: General Configuration Register. */
    public static final int GEN_CONF = 0x010;
    /** Section 2.3.6: General Interrupt Status Register. */
    public static final int GINTR_STA = 0x020;
    /** Section 2.3.7: Main Counter Value Register. */
    public static final int MAIN_CNT = 0x0f0;
    /** Section 2.3.8: the first timer's registers; timer N's are TIMER_BLOCK + N * TIMER_STRIDE. */
    public static final int TIMER_BLOCK = 0x100;
    public static final int TIMER_STRIDE = 0x20;
    /** Section 2.3.8: Timer N Configuration and Capability Register, relative to the timer's block. */
    public static final int Tn_CONF_CAP = 0x00;
    /** Section 2.3.9: Timer N Comparator Value Register. */
    public static final int Tn_COMPARATOR = 0x08;
    /** Section 2.3.10: Timer N FSB Interrupt Route Register (value low, address high). */
    public static final int Tn_FSB_INT_ROUTE = 0x10;

    /** GCAP_ID bits 7:0: REV_ID. */
    public static final int REV_ID = 0x01;
    /** GCAP_ID bits 12:8: NUM_TIM_CAP, the number of the last timer. */
    public static final int NUM_TIM_CAP_SHIFT = 8;
    /** GCAP_ID bit 13: COUNT_SIZE_CAP, the main counter is 64 bits wide. */
    public static final int COUNT_SIZE_CAP = 1 << 13;
    /** GCAP_ID bit 15: LEG_RT_CAP, legacy replacement routing is supported. */
    public static final int LEG_RT_CAP = 1 << 15;
    /** GCAP_ID bits 31:16: VENDOR_ID (Intel, as QEMU reports). */
    public static final int VENDOR_ID = 0x8086;
    /** The main counter's period in femtoseconds: 10 ns, 100 MHz. */
    public static final long COUNTER_CLK_PERIOD_FS = 10_000_000L;
    /** The same period in guest nanoseconds (QEMU's HPET_CLK_PERIOD). */
    static final long TICK_NANOS = 10;

    /** GEN_CONF bit 0: ENABLE_CNF, the main counter runs and timers interrupt. */
    public static final int ENABLE_CNF = 1;
    /** GEN_CONF bit 1: LEG_RT_CNF, legacy replacement routing. */
    public static final int LEG_RT_CNF = 1 << 1;

    /** Tn_CONF bit 1: Tn_INT_TYPE_CNF, level-triggered when set. */
    public static final int Tn_INT_TYPE_CNF = 1 << 1;
    /** Tn_CONF bit 2: Tn_INT_ENB_CNF. */
    public static final int Tn_INT_ENB_CNF = 1 << 2;
    /** Tn_CONF bit 3: Tn_TYPE_CNF, periodic when set. */
    public static final int Tn_TYPE_CNF = 1 << 3;
    /** Tn_CONF bit 4: Tn_PER_INT_CAP. */
    public static final int Tn_PER_INT_CAP = 1 << 4;
    /** Tn_CONF bit 5: Tn_SIZE_CAP, a 64-bit timer. */
    public static final int Tn_SIZE_CAP = 1 << 5;
    /** Tn_CONF bit 6: Tn_VAL_SET_CNF, the next comparator write sets the value, not the period. */
    public static final int Tn_VAL_SET_CNF = 1 << 6;
    /** Tn_CONF bit 8: Tn_32MODE_CNF. */
    public static final int Tn_32MODE_CNF = 1 << 8;
    /** Tn_CONF bits 13:9: Tn_INT_ROUTE_CNF, the IOAPIC input. */
    public static final int Tn_INT_ROUTE_CNF = 0x1f << 9;
    public static final int Tn_INT_ROUTE_SHIFT = 9;
    /** Tn_CONF bit 14: Tn_FSB_EN_CNF, interrupt by a memory write. */
    public static final int Tn_FSB_EN_CNF = 1 << 14;
    /** Tn_CONF bit 15: Tn_FSB_INT_DEL_CAP. */
    public static final int Tn_FSB_INT_DEL_CAP = 1 << 15;
    /** Tn_CONF bits 63:32: Tn_INT_ROUTE_CAP, the IOAPIC inputs a timer may use. */
    public static final int Tn_INT_ROUTE_CAP_SHIFT = 32;
    /** The Tn_CONF bits a guest writes (QEMU's HPET_TN_CFG_WRITE_MASK, FSB enable included). */
    static final int Tn_CONF_WRITABLE = 0x7f4e;

    /** QEMU's HPET_MIN_TIMERS and HPET_MAX_TIMERS: the "timers" property is clamped into this range. */
    public static final int MIN_TIMERS = 3;
    public static final int MAX_TIMERS = 32;
    /** The timers whose registers fit the 1 KiB window. */
    static final int ADDRESSABLE_TIMERS = (HPET_LEN - TIMER_BLOCK) / TIMER_STRIDE;
    /** The pc (i440FX) board's intcap: timers may use IOAPIC input 2 only (QEMU's pc_piix hpet_irqs). */
    public static final int PC_INT_ROUTE_CAP = 1 << 2;
    /** The RTC's ISA IRQ, where legacy mode routes timer 1. */
    public static final int RTC_ISA_IRQ = 8;
    /** Interrupt inputs the route field can name (QEMU's HPET_NUM_IRQ_ROUTES). */
    static final int NUM_IRQ_ROUTES = 32;

    /**
     * QEMU 7.2's "hpet": a sysbus device only the board creates (-device refuses it as not pluggable), with
     * timers, msi, hpet-offset-saved and hpet-intcap, and its MMIO region as a child.
     */
    public static final TypeInfo TYPE = TypeInfo.type("hpet", "sys-bus-device").notUserCreatable()
            .props(Property.of("msi", PropType.BIT, false),
                    Property.of("timers", PropType.UINT8, (long) MIN_TIMERS),
                    Property.of("hpet-offset-saved", PropType.BOOL, true),
                    Property.of("hpet-intcap", PropType.UINT32, 0L),
                    Property.object("hpet[0]", PropType.child("memory-region")))
            .build();

    /**
     * Realizes the block on the board's ISA lines (GSIs 0-15; the pc board's intcap allows IRQ 2 only). The
     * board maps it with {@link #attach(MmioBus)} and wires {@link #rtcInput()} and {@link LegacyRouting}.
     * QEMU's pc board sets its own intcap when the property's low byte is 0 (it reads the value into a uint8),
     * so that is what an intcap of 0, or of 0x100, gets here too.
     */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        int intcap = p.int32("hpet-intcap");
        Hpet hpet = new Hpet(ctx.clock(), n -> n < 16 ? ctx.isaIrq(n) : IrqLine.NONE,
                p.int32("timers"), (intcap & 0xff) == 0 ? PC_INT_ROUTE_CAP : intcap, p.bool("msi"));
        return new Realized<>(hpet, hpet::reset, hpet::close);
    });

    /** Where legacy replacement mode takes the PIT's interrupt away and gives it back. */
    public interface LegacyRouting {
        /**
         * The PIT's IRQ 0 output is enabled (false while legacy mode is on). Called under the HPET's lock;
         * it must not call back into the HPET.
         */
        void pitEnabled(boolean enabled);

        LegacyRouting NONE = enabled -> { };
    }

    /** A timer's interrupt delivered as a 32-bit memory write (Tn_FSB_EN_CNF), usually an MSI. */
    public interface FsbDelivery {
        void write(long address, int value);

        FsbDelivery NONE = (address, value) -> { };
    }

    private final VirtualClock clock;
    private final IrqLine[] irqs = new IrqLine[NUM_IRQ_ROUTES];
    private final int numTimers;
    private final int intcap;
    private final boolean msi;
    private final long capability;
    private final HpetTimer[] timers;
    private LegacyRouting legacy = LegacyRouting.NONE;
    private FsbDelivery fsbDelivery = FsbDelivery.NONE;

    private long config;
    private long isr;
    private long counter;
    /** Guest nanoseconds to add to the clock for the counter's time while enabled (may wrap). */
    private long offset;
    private boolean rtcIrqLevel;

    /**
     * @param clock      guest time (QEMU_CLOCK_VIRTUAL)
     * @param gsi        the interrupt input for each route (0-31); unconnected ones may be {@link IrqLine#NONE}
     * @param timers     the number of timers, clamped to 3..32 as QEMU does
     * @param intcap     Tn_INT_ROUTE_CAP for every timer ({@link #PC_INT_ROUTE_CAP} on pc)
     * @param msi        whether timers advertise Tn_FSB_INT_DEL_CAP (QEMU's "msi", default off)
     */
    public Hpet(VirtualClock clock, IntFunction<IrqLine> gsi, int timers, int intcap, boolean msi) {
        this.clock = clock;
        for (int i = 0; i < NUM_IRQ_ROUTES; i++) {
            IrqLine line = gsi.apply(i);
            irqs[i] = line == null ? IrqLine.NONE : line;
        }
        this.numTimers = Math.max(MIN_TIMERS, Math.min(MAX_TIMERS, timers));
        this.intcap = intcap;
        this.msi = msi;
        this.capability = (COUNTER_CLK_PERIOD_FS << 32) | ((long) VENDOR_ID << 16) | LEG_RT_CAP | COUNT_SIZE_CAP
                | ((long) (numTimers - 1) << NUM_TIM_CAP_SHIFT) | REV_ID;
        // QEMU's array holds the one-past-the-end timer its index check lets through.
        this.timers = new HpetTimer[Math.min(numTimers + 1, MAX_TIMERS)];
        for (int i = 0; i < this.timers.length; i++) {
            int n = i;
            this.timers[i] = new HpetTimer(clock.newTimer(() -> expired(n)));
        }
        reset();
    }

    /** QEMU's pc configuration: 3 timers, IOAPIC input 2 allowed, no FSB delivery. */
    public Hpet(VirtualClock clock, IntFunction<IrqLine> gsi) {
        this(clock, gsi, MIN_TIMERS, PC_INT_ROUTE_CAP, false);
    }

    /** Maps the block at {@link #HPET_BASE}. */
    public void attach(MmioBus bus) {
        bus.register(HPET_BASE, HPET_LEN, this);
    }

    public synchronized void setLegacyRouting(LegacyRouting routing) {
        this.legacy = routing == null ? LegacyRouting.NONE : routing;
    }

    public synchronized void setFsbDelivery(FsbDelivery delivery) {
        this.fsbDelivery = delivery == null ? FsbDelivery.NONE : delivery;
    }

    /** The line the board gives the RTC: passed on to GSI 8 outside legacy mode (QEMU's HPET_LEGACY_RTC_INT). */
    public IrqLine rtcInput() {
        return high -> {
            synchronized (this) {
                rtcIrqLevel = high;
                if (!legacyMode()) {
                    irqs[RTC_ISA_IRQ].setLevel(high);
                }
            }
        };
    }

    /** The line a user-space PIT would drive: passed on to GSI 0 outside legacy mode (HPET_LEGACY_PIT_INT). */
    public IrqLine pitInput() {
        return high -> {
            synchronized (this) {
                if (!legacyMode()) {
                    irqs[0].setLevel(high);
                }
            }
        };
    }

    /** GCAP_ID's low dword, which the ACPI HPET table repeats as the event timer block id. */
    public int eventTimerBlockId() {
        return (int) capability;
    }

    public int numTimers() {
        return numTimers;
    }

    /** Device reset (QEMU's hpet_reset): timers stopped and reset, counter 0, PIT output enabled. */
    public synchronized void reset() {
        for (int i = 0; i < numTimers; i++) {
            HpetTimer t = timers[i];
            deleteTimer(i);
            t.cmp = -1L;
            t.config = Tn_PER_INT_CAP | Tn_SIZE_CAP | (msi ? Tn_FSB_INT_DEL_CAP : 0)
                    | ((intcap & 0xffff_ffffL) << Tn_INT_ROUTE_CAP_SHIFT);
            t.period = 0;
            t.wrapFlag = false;
        }
        legacy.pitEnabled(true);
        counter = 0;
        offset = 0;
        config = 0;
        rtcIrqLevel = false;
    }

    /** Stops every timer, including QEMU's extra slot that reset leaves alone. */
    public synchronized void close() {
        for (HpetTimer t : timers) {
            t.timer.cancel();
        }
    }

    /** Each aligned dword piece of the access (see {@link #piece}) reads its register; other pieces read 0. */
    @Override
    public long read(long offset, int size) {
        long value = 0;
        synchronized (this) {
            for (int done = 0; done < size; ) {
                int len = piece(offset + done, size - done);
                if (len == 4 && offset + done + 4 <= HPET_LEN) {
                    value |= read32((int) (offset + done)) << (8 * done);
                }
                done += len;
            }
        }
        return value;
    }

    /** Each aligned dword piece of the access writes its register; other pieces are dropped. */
    @Override
    public void write(long offset, int size, long value) {
        synchronized (this) {
            for (int done = 0; done < size; ) {
                int len = piece(offset + done, size - done);
                if (len == 4 && offset + done + 4 <= HPET_LEN) {
                    write32((int) (offset + done), (value >>> (8 * done)) & 0xffff_ffffL);
                }
                done += len;
            }
        }
    }

    /**
     * The length of the next piece QEMU's dispatch cuts an access into: at most 4 bytes, no more than the
     * address's alignment, a power of two. The region takes 4-byte pieces only; a narrower one is refused
     * (and reads 0), so a 64-bit access at a dword boundary is two register accesses, low first, and an
     * unaligned one reaches only the dwords it covers whole at an aligned piece.
     */
    private static int piece(long addr, int remaining) {
        int len = Math.min(remaining, 4);
        long align = addr & -addr;
        if (align != 0 && align < len) {
            len = (int) align;
        }
        return Integer.highestOneBit(len);
    }

    private long read32(int addr) {
        if (addr >= TIMER_BLOCK) {
            int n = (addr - TIMER_BLOCK) / TIMER_STRIDE;
            if (n >= timers.length) {
                return 0;
            }
            HpetTimer t = timers[n];
            return switch ((addr - TIMER_BLOCK) % TIMER_STRIDE) {
                case Tn_CONF_CAP -> t.config & 0xffff_ffffL;
                case Tn_CONF_CAP + 4 -> t.config >>> 32;
                case Tn_COMPARATOR -> t.cmp & 0xffff_ffffL;
                case Tn_COMPARATOR + 4 -> t.cmp >>> 32;
                case Tn_FSB_INT_ROUTE -> t.fsb & 0xffff_ffffL;
                case Tn_FSB_INT_ROUTE + 4 -> t.fsb >>> 32;
                default -> 0;
            };
        }
        return switch (addr) {
            case GCAP_ID -> capability & 0xffff_ffffL;
            case COUNTER_CLK_PERIOD -> capability >>> 32;
            case GEN_CONF -> config & 0xffff_ffffL;
            case MAIN_CNT -> currentCounter() & 0xffff_ffffL;
            case MAIN_CNT + 4 -> currentCounter() >>> 32;
            case GINTR_STA -> isr & 0xffff_ffffL;
            default -> 0;
        };
    }

    private void write32(int addr, long value) {
        long old = read32(addr);
        if (addr >= TIMER_BLOCK) {
            int n = (addr - TIMER_BLOCK) / TIMER_STRIDE;
            if (n < timers.length) {
                writeTimer(n, (addr - TIMER_BLOCK) % TIMER_STRIDE, old, value);
            }
            return;
        }
        switch (addr) {
            case GEN_CONF -> writeConfig(old, value);
            case GINTR_STA -> {
                long clear = value & isr;
                for (int i = 0; i < numTimers; i++) {
                    if ((clear & (1L << i)) != 0) {
                        updateIrq(i, false);
                    }
                }
            }
            // Writes while enabled change the stored value, which the next disable overwrites, as in QEMU.
            case MAIN_CNT -> counter = (counter & 0xffff_ffff_0000_0000L) | value;
            case MAIN_CNT + 4 -> counter = (counter & 0xffff_ffffL) | value << 32;
            default -> { }
        }
    }

    private void writeConfig(long old, long value) {
        config = (config & 0xffff_ffff_0000_0000L) | (value & (ENABLE_CNF | LEG_RT_CNF));
        if (activating(old, value, ENABLE_CNF)) {
            offset = counter * TICK_NANOS - clock.nanos();
            for (int i = 0; i < numTimers; i++) {
                if (timers[i].cmp != -1L) {
                    setTimer(i);
                }
            }
        } else if (deactivating(old, value, ENABLE_CNF)) {
            counter = ticks();
            for (int i = 0; i < numTimers; i++) {
                deleteTimer(i);
            }
        }
        if (activating(old, value, LEG_RT_CNF)) {
            legacy.pitEnabled(false);
            irqs[0].setLevel(false);
            irqs[RTC_ISA_IRQ].setLevel(false);
        } else if (deactivating(old, value, LEG_RT_CNF)) {
            irqs[0].setLevel(false);
            legacy.pitEnabled(true);
            irqs[RTC_ISA_IRQ].setLevel(rtcIrqLevel);
        }
    }

    private void writeTimer(int n, int reg, long old, long value) {
        HpetTimer t = timers[n];
        switch (reg) {
            case Tn_CONF_CAP -> {
                if (activating(old, value, Tn_FSB_EN_CNF)) {
                    updateIrq(n, false);
                }
                long low = (value & Tn_CONF_WRITABLE) | (old & ~Tn_CONF_WRITABLE);
                t.config = (t.config & 0xffff_ffff_0000_0000L) | low;
                if ((value & Tn_32MODE_CNF) != 0) {
                    t.cmp &= 0xffff_ffffL;
                    t.period &= 0xffff_ffffL;
                }
                if (activating(old, value, Tn_INT_ENB_CNF) && enabled()) {
                    setTimer(n);
                } else if (deactivating(old, value, Tn_INT_ENB_CNF)) {
                    deleteTimer(n);
                }
            }
            case Tn_COMPARATOR -> {
                if (!t.periodic() || (t.config & Tn_VAL_SET_CNF) != 0) {
                    t.cmp = (t.cmp & 0xffff_ffff_0000_0000L) | value;
                }
                if (t.periodic()) {
                    // QEMU keeps the period below half the counter's range.
                    long v = value & (t.mode32() ? 0x7fff_ffffL : Long.MAX_VALUE);
                    t.period = (t.period & 0xffff_ffff_0000_0000L) | v;
                }
                comparatorWritten(n);
            }
            case Tn_COMPARATOR + 4 -> {
                if (!t.periodic() || (t.config & Tn_VAL_SET_CNF) != 0) {
                    t.cmp = (t.cmp & 0xffff_ffffL) | value << 32;
                } else {
                    long v = value & (t.mode32() ? 0x7fff_ffffL : Long.MAX_VALUE);
                    t.period = (t.period & 0xffff_ffffL) | v << 32;
                }
                comparatorWritten(n);
            }
            case Tn_FSB_INT_ROUTE -> t.fsb = (t.fsb & 0xffff_ffff_0000_0000L) | value;
            case Tn_FSB_INT_ROUTE + 4 -> t.fsb = (t.fsb & 0xffff_ffffL) | value << 32;
            default -> { }
        }
    }

    private void comparatorWritten(int n) {
        timers[n].config &= ~Tn_VAL_SET_CNF;
        if (enabled()) {
            setTimer(n);
        }
    }

    /** Arms timer n for its comparator (QEMU's hpet_set_timer); 32-bit one-shots stop at the wrap first. */
    private void setTimer(int n) {
        HpetTimer t = timers[n];
        long cur = ticks();
        t.wrapFlag = false;
        long diff = t.diff(cur);
        if (t.mode32() && !t.periodic()) {
            long wrapDiff = 0xffff_ffffL - (cur & 0xffff_ffffL);
            if (wrapDiff < (diff & 0xffff_ffffL)) {
                diff = wrapDiff;
                t.wrapFlag = true;
            }
        }
        arm(t, diff);
    }

    private void deleteTimer(int n) {
        timers[n].timer.cancel();
        updateIrq(n, false);
    }

    /**
     * Arms the clock timer diff ticks ahead. QEMU adds the ticks as signed nanoseconds, so a difference that
     * overflows lands in the past and fires at once; the same here, without the wrapped deadline.
     */
    private void arm(HpetTimer t, long diff) {
        long now = clock.nanos();
        long deadline = now + diff * TICK_NANOS;
        t.timer.modNanos(deadline < now ? now : deadline);
    }

    /** On the clock's thread: QEMU's hpet_timer, unless a guest access re-armed or stopped it meanwhile. */
    private void expired(int n) {
        synchronized (this) {
            HpetTimer t = timers[n];
            if (!t.timer.claimExpiry()) {
                return;
            }
            long cur = ticks();
            if (t.periodic() && t.period != 0) {
                if (!t.catchUp(cur)) {
                    // QEMU loops forever on a 32-bit period whose low half is 0; the timer stops instead.
                    updateIrq(n, true);
                    return;
                }
                arm(t, t.diff(cur));
            } else if (t.mode32() && !t.periodic() && t.wrapFlag) {
                arm(t, t.diff(cur));
                t.wrapFlag = false;
            }
            updateIrq(n, true);
        }
    }

    /** QEMU's update_irq: raise, pulse or lower the timer's route, or write its FSB message. */
    private void updateIrq(int n, boolean set) {
        HpetTimer t = timers[n];
        int route;
        if (n <= 1 && legacyMode()) {
            route = n == 0 ? 0 : RTC_ISA_IRQ;
        } else {
            route = (int) (t.config & Tn_INT_ROUTE_CNF) >>> Tn_INT_ROUTE_SHIFT;
        }
        long mask = 1L << n;
        boolean fsb = (t.config & Tn_FSB_EN_CNF) != 0;
        if (!set || (t.config & Tn_INT_ENB_CNF) == 0 || !enabled()) {
            isr &= ~mask;
            if (!fsb) {
                irqs[route].setLevel(false);
            }
        } else if (fsb) {
            fsbDelivery.write(t.fsb >>> 32, (int) t.fsb);
        } else if ((t.config & Tn_INT_TYPE_CNF) != 0) {
            isr |= mask;
            irqs[route].setLevel(true);
        } else {
            isr &= ~mask;
            irqs[route].pulse();
        }
    }

    private long ticks() {
        return Long.divideUnsigned(clock.nanos() + offset, TICK_NANOS);
    }

    private long currentCounter() {
        return enabled() ? ticks() : counter;
    }

    private boolean enabled() {
        return (config & ENABLE_CNF) != 0;
    }

    private boolean legacyMode() {
        return (config & LEG_RT_CNF) != 0;
    }

    private static boolean activating(long old, long value, long mask) {
        return (old & mask) == 0 && (value & mask) != 0;
    }

    private static boolean deactivating(long old, long value, long mask) {
        return (old & mask) != 0 && (value & mask) == 0;
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * The registers, the counter as it reads now, the RTC input's level and every timer (QEMU's extra slot
     * included) with its hidden period, wrap flag and the guest time left until it fires, re-armed against
     * the restoring machine's clock.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        w.u32("timers", numTimers).u64("capability", capability);
        w.u64("config", config).u64("isr", isr).u64("counter", currentCounter()).bool("rtc-irq-level", rtcIrqLevel);
        w.begin("timer", timers.length);
        long now = clock.nanos();
        for (HpetTimer t : timers) {
            t.save(w, now);
        }
        w.end();
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        r.expectU32("timers", numTimers);
        r.expectU64("capability", capability);
        long cfg = r.u64("config");
        if ((cfg & ~(long) (ENABLE_CNF | LEG_RT_CNF)) != 0) {
            throw r.invalid("config", String.format("0x%x has bits outside ENABLE_CNF and LEG_RT_CNF", cfg));
        }
        long status = r.u64("isr");
        if (timers.length < 64 && (status & -(1L << timers.length)) != 0) {
            throw r.invalid("isr", String.format("0x%x names timers this block lacks", status));
        }
        long cnt = r.u64("counter");
        boolean rtc = r.bool("rtc-irq-level");
        r.begin("timer", timers.length);
        HpetTimer.Saved[] loaded = new HpetTimer.Saved[timers.length];
        for (int i = 0; i < timers.length; i++) {
            // Reset sets the capabilities; the extra slot never gets any.
            loaded[i] = HpetTimer.Saved.read(r, i, i < numTimers ? timers[i].config & ~(long) Tn_CONF_WRITABLE : 0);
        }
        r.end();
        config = cfg;
        isr = status;
        counter = cnt;
        offset = cnt * TICK_NANOS - clock.nanos();
        rtcIrqLevel = rtc;
        for (int i = 0; i < timers.length; i++) {
            loaded[i].applyTo(timers[i]);
        }
        // The PIT's gate follows the restored mode.
        legacy.pitEnabled(!legacyMode());
    }
}
