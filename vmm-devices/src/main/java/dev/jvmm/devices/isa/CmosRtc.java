package dev.jvmm.devices.isa;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.function.LongConsumer;

/**
 * Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (MC146818A data sheet, "Address map" and
 * "Registers"), at ports 0x70 (index) and 0x71 (data), IRQ 8, behaving as QEMU 7.2's
 * hw/rtc/mc146818rtc.c for the time-keeping path: time registers are computed on read from a host clock
 * plus a guest offset, honouring register B's DM (binary/BCD) and 24/12-hour bits; setting the time
 * (with or without the SET bit) moves the offset; register A's UIP bit is set in the last 244 us of each
 * second; register C clears on read; register D reads VRT=1.
 *
 * <p>Alarm, periodic and update-ended interrupts are not generated yet; register C and the IRQ line are
 * plumbed so they can be added. {@link #setTimeChangeListener} reports guest time changes (RTC_CHANGE).
 */
public final class CmosRtc implements IoHandler {
    public static final int BASE = 0x70;
    public static final int PORT_COUNT = 2;
    public static final int IRQ = 8;

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

    private static final long MIB = 1L << 20;

    private final Clock clock;
    private final IrqLine irq;
    private final byte[] cmos = new byte[CMOS_SIZE];
    private int index;
    /** Guest RTC time minus host clock time, in nanoseconds. */
    private long offsetNanos;
    private volatile LongConsumer timeChangeListener = s -> { };

    /**
     * @param belowFourGiB RAM below 4 GiB in bytes (what QEMU calls below_4g_mem_size)
     * @param aboveFourGiB RAM mapped above 4 GiB in bytes
     * @param cpus         number of CPUs (QEMU stores cpus - 1 at 0x5f)
     * @param irq          IRQ 8
     * @param clock        host clock; the RTC starts at its UTC time ({@link Clock#systemUTC()} normally)
     */
    public CmosRtc(long belowFourGiB, long aboveFourGiB, int cpus, IrqLine irq, Clock clock) {
        this.clock = clock;
        this.irq = irq == null ? IrqLine.NONE : irq;
        cmos[RTC_REG_A] = 0x26;
        cmos[RTC_REG_B] = REG_B_24H;
        cmos[RTC_REG_C] = 0;
        cmos[RTC_REG_D] = (byte) REG_D_VRT;
        setMemorySizes(belowFourGiB, aboveFourGiB, cpus);
        cmos[EQUIPMENT] = (byte) (EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE);
        setBootOrder("cad", true);
        latchTime(hostNanos());
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

    /** Called with the new {@link #offsetSeconds()} whenever the guest sets the time (for RTC_CHANGE). */
    public void setTimeChangeListener(LongConsumer listener) {
        timeChangeListener = listener == null ? s -> { } : listener;
    }

    /** Guest RTC minus host UTC, whole seconds, as QEMU's RTC_CHANGE "offset". */
    public synchronized long offsetSeconds() {
        long host = hostNanos();
        return Math.floorDiv(host + offsetNanos, NANOS_PER_SECOND) - Math.floorDiv(host, NANOS_PER_SECOND);
    }

    /** A CMOS byte as stored (time registers as last latched); for the machine and tests. */
    public synchronized int cmosByte(int at) {
        return cmos[at & 0x7f] & 0xff;
    }

    /** Machine setup may store further NVRAM bytes (boot order, disk types) before the guest runs. */
    public synchronized void setCmosByte(int at, int value) {
        cmos[at & 0x7f] = (byte) value;
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
        boolean lower;
        int ret;
        synchronized (this) {
            int at = index == RTC_IBM_PS2_CENTURY_BYTE ? RTC_CENTURY : index;
            switch (at) {
                case RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH,
                        RTC_YEAR, RTC_CENTURY -> {
                    if (running()) {
                        latchTime(hostNanos() + offsetNanos);
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
                    ret = cmos[RTC_REG_C] & 0xff;
                    cmos[RTC_REG_C] = 0;
                    lower = ret != 0;
                }
                default -> {
                    return cmos[at] & 0xff;
                }
            }
        }
        if (lower) {
            irq.setLevel(false);
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
        long newOffset = 0;
        synchronized (this) {
            int at = index == RTC_IBM_PS2_CENTURY_BYTE ? RTC_CENTURY : index;
            switch (at) {
                case RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH,
                        RTC_YEAR, RTC_CENTURY -> {
                    if (running()) {
                        // Registers hold the current time; replace one and take the result as the new time.
                        latchTime(hostNanos() + offsetNanos);
                        cmos[at] = (byte) data;
                        setTimeFromRegisters();
                        changed = true;
                    } else {
                        cmos[at] = (byte) data;
                    }
                }
                case RTC_REG_A -> {
                    boolean was = running();
                    cmos[RTC_REG_A] = (byte) ((data & ~REG_A_UIP) | (cmos[RTC_REG_A] & REG_A_UIP));
                    changed = transition(was);
                }
                case RTC_REG_B -> {
                    boolean was = running();
                    if ((data & REG_B_SET) != 0) {
                        data &= ~REG_B_UIE;
                    }
                    cmos[RTC_REG_B] = (byte) data;
                    changed = transition(was);
                }
                case RTC_REG_C, RTC_REG_D -> {
                    // read-only
                }
                default -> cmos[at] = (byte) data;
            }
            if (changed) {
                newOffset = offsetSecondsLocked();
            }
        }
        if (changed) {
            timeChangeListener.accept(newOffset);
        }
    }

    /** Handles the clock stopping (latch the time) or starting again (take the registers as the time). */
    private boolean transition(boolean wasRunning) {
        boolean now = running();
        if (wasRunning && !now) {
            latchTime(hostNanos() + offsetNanos);
            return false;
        }
        if (!wasRunning && now) {
            setTimeFromRegisters();
            return true;
        }
        return false;
    }

    private long offsetSecondsLocked() {
        long host = hostNanos();
        return Math.floorDiv(host + offsetNanos, NANOS_PER_SECOND) - Math.floorDiv(host, NANOS_PER_SECOND);
    }

    // ---- time ---------------------------------------------------------------------------------------

    private boolean running() {
        return (cmos[RTC_REG_B] & REG_B_SET) == 0 && (cmos[RTC_REG_A] & REG_A_DV_MASK) <= REG_A_DV_32KHZ;
    }

    private boolean updateInProgress() {
        if (!running()) {
            return false;
        }
        long sub = Math.floorMod(hostNanos() + offsetNanos, NANOS_PER_SECOND);
        return sub >= NANOS_PER_SECOND - UIP_HOLD_NANOS;
    }

    private long hostNanos() {
        Instant now = clock.instant();
        return now.getEpochSecond() * NANOS_PER_SECOND + now.getNano();
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
     * Reads the time registers as a date and makes it the guest time from now on. Garbage (BCD digits
     * above 9, month 0, hour 25) is normalised the way mktime does rather than rejected.
     */
    private void setTimeFromRegisters() {
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
        offsetNanos = guestSeconds * NANOS_PER_SECOND - hostNanos();
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
