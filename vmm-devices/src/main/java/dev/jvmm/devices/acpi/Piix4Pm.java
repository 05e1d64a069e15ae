package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.SystemWakeup;
import dev.jvmm.core.machine.WakeupReason;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Intel 82371AB PIIX4 power management function (PIIX4 datasheet, section 3.4 "Power management
 * registers"; ACPI 6.4 section 4.8 "ACPI hardware features"), PCI 00:01.3, behaving as QEMU 7.2's
 * hw/acpi/piix4.c with hw/acpi/core.c: the fixed-feature PM1a event and control blocks and the PM timer
 * in a 64-byte I/O block at PMBA (enabled by PMREGMISC bit 0), the GPE0 block at 0xafe0, and the APM
 * command port 0xb2 that switches SCI_EN on ACPI_ENABLE / ACPI_DISABLE.
 *
 * <p>The SCI (ISA IRQ 9) is level-triggered and, as in QEMU's acpi_update_sci, high while
 * (PM1_STS &amp; PM1_EN) has one of TMR/GBL/PWRBTN/RTC pending or (GPE0_STS &amp; GPE0_EN) != 0. QEMU does
 * not gate it on SCI_EN, and neither does this model. The power button, as in QEMU, latches PWRBTN_STS
 * only when PWRBTN_EN is set.
 *
 * <p>Wake from S3, as hw/acpi/core.c: PM1_EN's RTC_EN and TMR_EN enable the RTC and PM-timer wake reasons
 * in the machine's wake-up mask (reset disables both), and on resume {@link #wakeup(WakeupReason)} sets
 * WAK_STS with the reason's status bit. The PM timer itself never wakes a suspended guest: in QEMU 7.2 it is
 * a QEMU_CLOCK_VIRTUAL timer, and pausing the vCPUs for S3 disables that clock's timers (checked: with
 * TMR_EN set and TMR_STS clear a guest stays suspended). The power button while suspended only latches
 * PWRBTN_STS, as in QEMU; it wakes nothing.
 *
 * <p>Thread safety: every guest access and control call holds this object's monitor.
 */
public final class Piix4Pm implements PciFunction, IoHandler, Saveable {
    public static final int VENDOR_ID = 0x8086;
    /** 82371AB/EB/MB PIIX4 power management function. */
    public static final int DEVICE_ID = 0x7113;
    public static final int REVISION = 0x03;
    /** Bridge device, "other bridge". */
    public static final int CLASS_CODE = 0x068000;

    /** PIIX4 datasheet 3.4.1.1 PMBA: power management base address, bits 15:6; bit 0 reads 1 (I/O). */
    public static final int PMBA = 0x40;
    /** PIIX4 datasheet 3.4.1.8 PMREGMISC: bit 0 enables the PM I/O space. */
    public static final int PMREGMISC = 0x80;
    public static final int PMREGMISC_PMIOSE = 0x01;
    /** Device activity register C bit 1 (QEMU: SMM already initialised when SMM is unavailable). */
    public static final int DEVACTB_HI = 0x5b;
    static final int PMBA_MASK = 0xffc0;
    /** PIIX4 datasheet 3.4.1.16 SMBBA and 3.4.1.18 SMBHSTCFG. */
    public static final int SMBBA = 0x90;
    public static final int SMBHSTCFG = 0xd2;
    /** QEMU's SMBus I/O base. */
    public static final int SMBUS_BASE = 0xb100;

    /** QEMU's PM I/O base as SeaBIOS programs it. */
    public static final int DEFAULT_PM_BASE = 0x600;
    public static final int PM_IO_LENGTH = 0x40;
    /** QEMU's piix4 GPE0 block: two bytes of status then two bytes of enable. */
    public static final int GPE0_BASE = 0xafe0;
    public static final int GPE0_LENGTH = 4;
    /** APM control (SMI command) and status ports. */
    public static final int APM_CNT = 0xb2;
    public static final int APM_LENGTH = 2;
    public static final int SCI_IRQ = 9;
    public static final int ACPI_ENABLE = 0xf1;
    public static final int ACPI_DISABLE = 0xf0;
    /** QEMU's default S4 SLP_TYP value (the piix4 "s4_val" property). */
    public static final int DEFAULT_S4_VAL = 2;

    // Offsets in the PM I/O block (ACPI 4.8.3.1 and 4.8.3.2).
    public static final int PM1_STS = 0x00;
    public static final int PM1_EN = 0x02;
    public static final int PM1_CNT = 0x04;
    public static final int PM_TMR = 0x08;

    // ACPI 6.4 table 4.16 PM1 status bits and table 4.17 enable bits.
    public static final int TMR_STS = 1 << 0;
    public static final int BM_STS = 1 << 4;
    public static final int GBL_STS = 1 << 5;
    public static final int PWRBTN_STS = 1 << 8;
    public static final int SLPBTN_STS = 1 << 9;
    public static final int RTC_STS = 1 << 10;
    public static final int WAK_STS = 1 << 15;
    public static final int TMR_EN = 1 << 0;
    public static final int GBL_EN = 1 << 5;
    public static final int PWRBTN_EN = 1 << 8;
    public static final int RTC_EN = 1 << 10;
    /** The enables that can raise the SCI (QEMU's ACPI_BITMASK_PM1_COMMON_ENABLED). */
    static final int PM1_SCI_SOURCES = TMR_EN | GBL_EN | PWRBTN_EN | RTC_EN;

    // ACPI 6.4 table 4.18 PM1 control bits.
    public static final int SCI_EN = 1 << 0;
    public static final int SLP_TYP_SHIFT = 10;
    public static final int SLP_TYP_MASK = 0x7 << SLP_TYP_SHIFT;
    public static final int SLP_EN = 1 << 13;

    /** ACPI 4.8.3.3: the PM timer runs at 3.579545 MHz and is 24 bits wide here (TMR_VAL_EXT clear). */
    public static final long PM_TIMER_FREQUENCY = 3_579_545L;
    static final int TMR_MASK = 0xffffff;
    static final long TMR_HALF = 0x800000L;

    /**
     * QEMU's PIIX4_PM (hw/acpi/piix4.c). disable_s3 and disable_s4 leave \_S3 and \_S4 out of the DSDT
     * (the board reads them for the tables), s4_val is the S4 SLP_TYP. jvmm has no ACPI hotplug, so the
     * hotplug switches have nothing to turn off; SMM and the SMBus base take their defaults.
     */
    public static final TypeInfo TYPE = TypeInfo.type("PIIX4_PM", "pci-device").notUserCreatable().coldPlugOnly()
            .implementing("acpi-device-interface", "conventional-pci-device", "hotplug-handler")
            .props(Property.of("acpi-pci-hotplug-with-bridge-support", PropType.BOOL, true),
                    Property.of("smb_io_base", PropType.UINT32, 0L).only(null, (long) SMBUS_BASE),
                    Property.of("disable_s3", PropType.UINT8, 0L),
                    Property.of("acpi-root-pci-hotplug", PropType.BOOL, true),
                    Property.fixed("smm-enabled", PropType.BOOL, false),
                    Property.of("disable_s4", PropType.UINT8, 0L),
                    Property.of("memory-hotplug-support", PropType.BOOL, true),
                    Property.fixed("smm-compat", PropType.BOOL, false),
                    Property.of("x-not-migrate-acpi-index", PropType.BOOL, false),
                    Property.of("s4_val", PropType.UINT8, (long) DEFAULT_S4_VAL),
                    Property.object("smi-irq[0]", PropType.link("irq")),
                    Property.object("unnamed-gpio-out[0]", PropType.link("irq")))
            .build();

    /** Only the board creates it (01.3); there is no SMM under KVM here, so ACPI starts enabled. */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        LifecycleController lc = ctx.lifecycle();
        Piix4Pm pm = new Piix4Pm(ctx.isaIrq(SCI_IRQ), SleepRequest.of(lc::requestGuestShutdown,
                lc::requestGuestSuspend, lc::requestGuestSuspendToDisk), System::nanoTime, ctx.timers(), true,
                p.int32("s4_val"), lc);
        pm.attach(ctx.pio());
        PciPlacement.plug(ctx.pci(), pm, TYPE.name(), p.number("addr"));
        // the values QEMU's piix4_pm_add_properties gives the ACPI table builder, as this device has them
        QomNode n = where.node();
        n.addConstant("acpi_enable_cmd", "uint8", (long) ACPI_ENABLE);
        n.addConstant("acpi_disable_cmd", "uint8", (long) ACPI_DISABLE);
        n.addConstant("gpe0_blk", "uint32", (long) GPE0_BASE);
        n.addConstant("gpe0_blk_len", "uint32", (long) GPE0_LENGTH);
        n.addConstant("sci_int", "uint16", (long) SCI_IRQ);
        n.addProperty("pm_io_base", "uint32", () -> (long) pm.pmBase(), null);
        return Realized.of(pm);
    });

    private final PciConfigSpace config;
    private final IrqLine sci;
    private final SleepRequest sleep;
    private final SystemWakeup wakeups;
    private final LongSupplier nanoClock;
    private final ScheduledExecutorService scheduler;
    private final boolean acpiOnly;
    private final int s4Val;
    /** nanoClock value at PM timer 0; moved on load so the timer goes on from the saved value. */
    private long clockOrigin;
    private final IoHandler gpeHandler = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            return gpeRead(offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            gpeWrite(offset, size, value);
        }
    };
    private final IoHandler apmHandler = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            return apmRead(offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            apmWrite(offset, size, value);
        }
    };

    private PioBus bus;
    private int mappedPmBase = -1;
    private int pm1Sts;
    private int pm1En;
    private int pm1Cnt;
    private final byte[] gpe0 = new byte[GPE0_LENGTH];
    private int apmCnt;
    private int apmSts;
    /** PM timer tick at which TMR_STS next becomes set (bit 23 toggles), as QEMU's overflow_time. */
    private long overflowTick;
    private boolean sciLevel;
    private ScheduledFuture<?> timerAlarm;
    private long armedTick;

    /**
     * @param sci       ISA IRQ 9 (level-triggered, active high as QEMU's MADT override says)
     * @param sleep     where SLP_EN writes go
     * @param nanoClock a monotonic nanosecond clock (System::nanoTime) that the PM timer counts from
     * @param scheduler raises the SCI when TMR_STS becomes set while TMR_EN; null for none (tests call
     *                  {@link #timerExpired()})
     * @param acpiOnly  true where there is no SMM (QEMU with KVM lacking SMM): SCI_EN is set at reset and
     *                  the FADT should carry no SMI_CMD; false is QEMU's pc with SMM (guest writes 0xf1 to
     *                  0xb2)
     * @param s4Val     SLP_TYP value for S4 (QEMU's default {@link #DEFAULT_S4_VAL})
     * @param wakeups   the machine's wake-up mask, which PM1_EN's RTC_EN and TMR_EN set
     */
    public Piix4Pm(IrqLine sci, SleepRequest sleep, LongSupplier nanoClock, ScheduledExecutorService scheduler,
                   boolean acpiOnly, int s4Val, SystemWakeup wakeups) {
        this.sci = sci;
        this.sleep = sleep;
        this.wakeups = wakeups;
        this.nanoClock = nanoClock;
        this.scheduler = scheduler;
        this.acpiOnly = acpiOnly;
        this.s4Val = s4Val & 7;
        this.clockOrigin = nanoClock.getAsLong();
        config = new PciConfigSpace(VENDOR_ID, DEVICE_ID, REVISION, CLASS_CODE, 0);
        // QEMU: status DEVSEL medium timing + fast back-to-back; interrupt pin A.
        config.set16(PciConfigSpace.STATUS, 0x0280);
        config.set8(PciConfigSpace.INTERRUPT_PIN, 0x01);
        config.set32(PMBA, 0x01);
        // QEMU's default PCI subsystem ids (Red Hat, QEMU).
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 0x1af4);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, 0x1100);
        // SMBus base and host configuration as QEMU programs them; the SMBus itself is not modelled.
        config.set32(SMBBA, SMBUS_BASE | 1);
        config.set8(SMBHSTCFG, 0x09);
        if (acpiOnly) {
            config.set8(DEVACTB_HI, 0x02);
        }
        // QEMU leaves the whole device-specific area writable, PMBA bit 0 included (it reads back 0x600
        // after a write of 0x600, unlike the datasheet's hardwired 1).
        for (int off = 0x40; off < PciConfigSpace.SIZE; off += 4) {
            config.setWritable(off, 4, 0xffffffffL);
        }
        config.sealInitialState();
        resetRegisters();
    }

    /** A PM that no machine wakes (unit tests). */
    public Piix4Pm(IrqLine sci, SleepRequest sleep, LongSupplier nanoClock, ScheduledExecutorService scheduler,
                   boolean acpiOnly, int s4Val) {
        this(sci, sleep, nanoClock, scheduler, acpiOnly, s4Val, SystemWakeup.NONE);
    }

    /** A PM with QEMU pc's defaults (SMM present: SCI_EN clear until ACPI_ENABLE), host monotonic clock. */
    public Piix4Pm(IrqLine sci, SleepRequest sleep, ScheduledExecutorService scheduler) {
        this(sci, sleep, System::nanoTime, scheduler, false, DEFAULT_S4_VAL);
    }

    /** Registers the fixed GPE0 and APM ports, and the PM block wherever the config space puts it. */
    public synchronized void attach(PioBus pioBus) {
        this.bus = pioBus;
        pioBus.register(GPE0_BASE, GPE0_LENGTH, gpeHandler);
        pioBus.register(APM_CNT, APM_LENGTH, apmHandler);
        updatePmMapping();
    }

    /** The PM I/O block's base as the guest programmed PMBA (QEMU's pm_io_base). */
    public synchronized int pmBase() {
        return config.get32(PMBA) & PMBA_MASK;
    }

    /** Programs PMBA and PMREGMISC as SeaBIOS does, for firmware-less boots. */
    /** What SeaBIOS's piix4_pm_setup leaves: SCI on IRQ 9 in INTERRUPT_LINE, the PM block at 0x600. */
    @Override
    public void firmwareSetup() {
        writeConfig(PciConfigSpace.INTERRUPT_LINE, 1, SCI_IRQ);
        enablePmIo(DEFAULT_PM_BASE);
    }

    public synchronized void enablePmIo(int base) {
        writeConfig(PMBA, 4, base | 1);
        writeConfig(PMREGMISC, 1, PMREGMISC_PMIOSE);
    }

    /** The PM I/O base the guest sees now, or -1 while PMREGMISC disables it. */
    public synchronized int pmIoBase() {
        if ((config.get8(PMREGMISC) & PMREGMISC_PMIOSE) == 0) {
            return -1;
        }
        return config.get32(PMBA) & PMBA_MASK;
    }

    public IoHandler gpeHandler() {
        return gpeHandler;
    }

    public IoHandler apmHandler() {
        return apmHandler;
    }

    // ---- PciFunction

    @Override
    public synchronized int readConfig(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        config.write(offset, size, value);
        if (overlaps(offset, size, PMBA, 4) || overlaps(offset, size, PMREGMISC, 1)) {
            updatePmMapping();
        }
    }

    @Override
    public String description() {
        return "Bridge";
    }

    @Override
    public synchronized void reset() {
        config.reset();
        resetRegisters();
        updatePmMapping();
    }

    private static boolean overlaps(int off, int size, int reg, int regSize) {
        return off < reg + regSize && reg < off + size;
    }

    private void updatePmMapping() {
        int base = pmIoBase();
        if (bus == null || base == mappedPmBase) {
            return;
        }
        if (mappedPmBase >= 0) {
            bus.unregister(mappedPmBase, PM_IO_LENGTH, this);
            mappedPmBase = -1;
        }
        if (base >= 0) {
            try {
                bus.register(base, PM_IO_LENGTH, this);
                mappedPmBase = base;
            } catch (RuntimeException e) {
                // The guest moved PMBA over another device's ports: leave the block unmapped, as a decode
                // conflict, instead of failing the config write.
                mappedPmBase = -1;
            }
        }
    }

    private void resetRegisters() {
        pm1Sts = 0;
        setPm1En(0);
        pm1Cnt = acpiOnly ? SCI_EN : 0;
        java.util.Arrays.fill(gpe0, (byte) 0);
        apmCnt = 0;
        apmSts = 0;
        // QEMU's acpi_pm_tmr_reset zeroes the overflow point, so TMR_STS reads 1 until the guest clears it.
        overflowTick = 0;
        updateSci();
    }

    // ---- control side (machine, QMP)

    /** The power button (system_powerdown): latches PWRBTN_STS if the guest enabled it, as QEMU. */
    public synchronized void powerButton() {
        if ((pm1En & PWRBTN_EN) != 0) {
            pm1Sts |= PWRBTN_STS;
            updateSci();
        }
    }

    /**
     * Resume from S3, after the machine reset: QEMU's wake-up notifier sets WAK_STS and the reason's status,
     * RTC_STS for the alarm, PWRBTN_STS for any other reason (system_wakeup). TMR_STS needs no bit here: the
     * reset put the timer's overflow point at 0, so it reads set until the guest clears it. Like QEMU's
     * notifier this leaves the SCI alone (the reset left PM1_EN clear, so nothing could raise it anyway).
     */
    public synchronized void wakeup(WakeupReason reason) {
        pm1Sts |= WAK_STS | switch (reason) {
            case RTC -> RTC_STS;
            case PMTIMER -> 0;
            case OTHER -> PWRBTN_STS;
        };
    }

    /** Sets GPE0 status bits (hotplug and the like) and updates the SCI. */
    public synchronized void raiseGpe(int bit) {
        if (bit >= 0 && bit < 16) {
            gpe0[bit / 8] |= (byte) (1 << (bit % 8));
            updateSci();
        }
    }

    /** Called by the alarm when bit 23 of the PM timer toggled. */
    public synchronized void timerExpired() {
        timerAlarm = null; // this alarm is spent; updateSci re-arms if TMR_STS is somehow not set yet
        updateSci();
    }

    public synchronized boolean sciLevel() {
        return sciLevel;
    }

    /** The current PM1_CNT value (SCI_EN and the last SLP_TYP), for the machine and tests. */
    public synchronized int pm1Control() {
        return pm1Cnt;
    }

    // ---- PM I/O block
    //
    // Access decomposition as QEMU 7.2's memory core does it for these regions (checked with qtest): the
    // event and control registers are handled as 16-bit units, so an aligned access is cut into 2-byte
    // units, a narrower one widens to its unit (a byte write at +2 writes the whole PM1_EN, zero-extended),
    // and an access at an odd offset goes byte by byte. The event block answers only at +0 (PM1_STS) and +2
    // (PM1_EN); the control register answers at both of its bytes; the timer returns its low bytes whatever
    // byte is addressed. Unassigned offsets read all ones.

    @Override
    public synchronized long read(long offset, int size) {
        int off = (int) offset;
        if (off >= PM_TMR && off < PM_TMR + 4) {
            int n = Math.min(size, PM_TMR + 4 - off);
            return mask(timerTicks() & TMR_MASK, n) | (mask(-1L, size) & ~mask(-1L, n));
        }
        int unit = (off & 1) != 0 ? 1 : 2;
        long v = 0;
        for (int i = 0; i < size; i += unit) {
            int n = Math.min(unit, size - i);
            v |= mask(unitRead(off + i), n) << (8 * i);
        }
        return v;
    }

    private long unitRead(int off) {
        return switch (off) {
            case PM1_STS -> pm1StsNow();
            case PM1_EN -> pm1En;
            case PM1_STS + 1, PM1_EN + 1 -> 0;
            case PM1_CNT, PM1_CNT + 1 -> pm1Cnt;
            default -> 0xffff;
        };
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        int off = (int) offset;
        if (off < 0 || off >= PM_TMR) {
            return; // the timer is read-only; the rest of the block is unassigned
        }
        int unit = (off & 1) != 0 ? 1 : 2;
        for (int i = 0; i < size; i += unit) {
            int n = Math.min(unit, size - i);
            unitWrite(off + i, (int) mask(value >>> (8 * i), n));
        }
    }

    private void unitWrite(int off, int val) {
        switch (off) {
            case PM1_STS -> {
                // Write 1 to clear; clearing TMR_STS moves the overflow point on (QEMU).
                int sts = pm1StsNow();
                if ((sts & val & TMR_STS) != 0) {
                    recalcOverflow();
                }
                pm1Sts = sts & ~val & ~TMR_STS;
                updateSci();
            }
            case PM1_EN -> {
                setPm1En(val);
                updateSci();
            }
            case PM1_CNT, PM1_CNT + 1 -> pm1ControlWrite(val);
            default -> { }
        }
    }

    /** PM1_EN and, as QEMU's acpi_pm1_evt_write_en, the RTC and PM-timer bits of the wake-up mask. */
    private void setPm1En(int val) {
        pm1En = val;
        wakeups.enable(WakeupReason.RTC, (val & RTC_EN) != 0);
        wakeups.enable(WakeupReason.PMTIMER, (val & TMR_EN) != 0);
    }

    private void pm1ControlWrite(int val) {
        pm1Cnt = val & ~SLP_EN;
        if ((val & SLP_EN) == 0) {
            return;
        }
        int slpTyp = (val & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
        if (slpTyp == 0) {
            sleep.shutdown();
        } else if (slpTyp == 1) {
            sleep.suspend();
        } else if (slpTyp == s4Val) {
            sleep.hibernate();
        }
        // Other SLP_TYP values name no sleep state: ignored, as QEMU.
    }

    // ---- saved state

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Config space (PMBA and PMREGMISC place the PM block), PM1 status/enable/control (SLP_TYP of the last
     * sleep included), GPE0, the APM ports, the PM timer's elapsed time and its overflow point. The SCI
     * level, the wake-up mask and the overflow alarm follow from those and are re-derived on load.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        w.bool("acpi-only", acpiOnly).u32("s4-val", s4Val);
        config.saveState(w);
        w.u16("pm1-sts", pm1Sts).u16("pm1-en", pm1En).u16("pm1-cnt", pm1Cnt).bytes("gpe0", gpe0)
                .u8("apm-cnt", apmCnt).u8("apm-sts", apmSts)
                .u64("timer-ns", nanoClock.getAsLong() - clockOrigin).u64("overflow-tick", overflowTick);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        r.expectBool("acpi-only", acpiOnly);
        r.expectU32("s4-val", s4Val);
        byte[] cfg = config.readState(r);
        int sts = r.u16("pm1-sts");
        if ((sts & TMR_STS) != 0) {
            throw r.invalid("pm1-sts", "TMR_STS is computed from the timer, never stored");
        }
        int en = r.u16("pm1-en");
        int cnt = r.u16("pm1-cnt");
        if ((cnt & SLP_EN) != 0) {
            throw r.invalid("pm1-cnt", "SLP_EN is write-only");
        }
        byte[] gpe = new byte[GPE0_LENGTH];
        r.bytes("gpe0", gpe);
        int cntApm = r.u8("apm-cnt");
        int stsApm = r.u8("apm-sts");
        long elapsed = r.u64("timer-ns", 0, Long.MAX_VALUE / 2);
        long now = nanoClock.getAsLong();
        long origin = now - elapsed;
        long ticks = ticksFor(elapsed);
        // recalcOverflow puts it at most half a period ahead of the timer.
        long overflow = r.u64("overflow-tick", 0, ticks + TMR_HALF);
        config.applyState(cfg);
        pm1Sts = sts;
        setPm1En(en);
        pm1Cnt = cnt;
        System.arraycopy(gpe, 0, gpe0, 0, GPE0_LENGTH);
        apmCnt = cntApm;
        apmSts = stsApm;
        clockOrigin = origin;
        overflowTick = overflow;
        updatePmMapping();
        updateSci();
    }

    // ---- PM timer

    /** Ticks of the 3.579545 MHz clock since power-on, without overflowing for any realistic uptime. */
    long timerTicks() {
        return ticksFor(nanoClock.getAsLong() - clockOrigin);
    }

    private static long ticksFor(long ns) {
        return (ns / 1_000_000_000L) * PM_TIMER_FREQUENCY + (ns % 1_000_000_000L) * PM_TIMER_FREQUENCY / 1_000_000_000L;
    }

    private void recalcOverflow() {
        overflowTick = (timerTicks() + TMR_HALF) & ~(TMR_HALF - 1);
    }

    private int pm1StsNow() {
        int sts = pm1Sts & ~TMR_STS;
        if (timerTicks() >= overflowTick) {
            sts |= TMR_STS;
        }
        return sts;
    }

    private void updateSci() {
        int sts = pm1StsNow();
        boolean level = (sts & pm1En & PM1_SCI_SOURCES) != 0
                || ((gpe0[0] & gpe0[2]) | (gpe0[1] & gpe0[3])) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            sci.setLevel(level);
        }
        armTimer((pm1En & TMR_EN) != 0 && (sts & TMR_STS) == 0);
    }

    private void armTimer(boolean enable) {
        if (scheduler == null) {
            return;
        }
        if (enable && timerAlarm != null && armedTick == overflowTick) {
            return; // already armed for this overflow point: no new task per register write
        }
        if (timerAlarm != null) {
            timerAlarm.cancel(false);
            timerAlarm = null;
        }
        if (enable) {
            long ticks = overflowTick - timerTicks();
            long delayNs = (ticks / PM_TIMER_FREQUENCY) * 1_000_000_000L
                    + ((ticks % PM_TIMER_FREQUENCY) * 1_000_000_000L + PM_TIMER_FREQUENCY - 1) / PM_TIMER_FREQUENCY;
            timerAlarm = scheduler.schedule(this::timerExpired, Math.max(0, delayNs), TimeUnit.NANOSECONDS);
            armedTick = overflowTick;
        }
    }

    // ---- GPE0 block and APM ports

    private synchronized long gpeRead(long offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            long off = offset + i;
            int b = off >= 0 && off < GPE0_LENGTH ? gpe0[(int) off] & 0xff : 0xff;
            v |= (long) b << (8 * i);
        }
        return v;
    }

    private synchronized void gpeWrite(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            long off = offset + i;
            if (off < 0 || off >= GPE0_LENGTH) {
                continue;
            }
            byte b = (byte) (value >>> (8 * i));
            if (off < GPE0_LENGTH / 2) {
                gpe0[(int) off] &= (byte) ~b;
            } else {
                gpe0[(int) off] = b;
            }
        }
        updateSci();
    }

    private synchronized long apmRead(long offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            long off = offset + i;
            int b = off == 0 ? apmCnt : off == 1 ? apmSts : 0xff;
            v |= (long) (b & 0xff) << (8 * i);
        }
        return v;
    }

    private synchronized void apmWrite(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            long off = offset + i;
            int b = (int) (value >>> (8 * i)) & 0xff;
            if (off == 0) {
                apmCnt = b;
                // QEMU's piix4 apm_ctrl_changed: the enable/disable commands flip SCI_EN directly.
                if (b == ACPI_ENABLE) {
                    pm1Cnt |= SCI_EN;
                } else if (b == ACPI_DISABLE) {
                    pm1Cnt &= ~SCI_EN;
                }
            } else if (off == 1) {
                apmSts = b;
            }
        }
    }

    private static long mask(long v, int size) {
        return size >= 8 ? v : v & ((1L << (8 * size)) - 1);
    }
}
