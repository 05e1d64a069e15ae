package dev.jvmm.devices.ide;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.BaseTypes;

/**
 * ATA8-APT (T13/1532-D) sections 5 and 6: one parallel ATA channel: the command block (data register and
 * seven byte registers at base+0..7), the control block (Alternate Status / Device Control at one port),
 * master and slave, the INTRQ line and the channel's bus-master DMA registers. As in QEMU, a task-file
 * write reaches both devices; reads come from the selected one, and an absent slave reads as zero status.
 * One lock (this object) guards the channel; port handlers, DMA and the block layer's retry all take it.
 */
public final class IdeBus {
    /** QEMU's bus type "IDE" (the PIIX3 IDE function provides ide.0 and ide.1). */
    public static final TypeInfo TYPE = BaseTypes.busType("IDE", "bus").build();

    /** ATA8-APT section 5.2: command block register offsets. */
    public static final int REG_DATA = 0;
    public static final int REG_ERROR_FEATURES = 1;
    public static final int REG_SECTOR_COUNT = 2;
    public static final int REG_LBA_LOW = 3;
    public static final int REG_LBA_MID = 4;
    public static final int REG_LBA_HIGH = 5;
    public static final int REG_DEVICE = 6;
    public static final int REG_STATUS_COMMAND = 7;

    /** ATA8-APT section 5.2.7: Device Control bits: nIEN, SRST, HOB. */
    public static final int CONTROL_NIEN = 0x02;
    public static final int CONTROL_SRST = 0x04;
    public static final int CONTROL_HOB = 0x80;

    private final IrqLine irq;
    private final BusMasterDma dma = new BusMasterDma(this);
    private final IdeDevice[] units = new IdeDevice[2];
    private int selected;
    private int control;
    /** The level INTRQ is driven at (saved: an interrupt the guest has not acknowledged yet). */
    private boolean irqLevel;

    /** Command block handler (8 ports at 0x1f0 or 0x170). */
    private final IoHandler commandBlock = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            synchronized (IdeBus.this) {
                return readCommandBlock((int) offset, size);
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (IdeBus.this) {
                writeCommandBlock((int) offset, size, value);
            }
        }
    };

    /** Control block handler (one port at 0x3f6 or 0x376). */
    private final IoHandler controlBlock = new IoHandler() {
        @Override
        public long read(long offset, int size) {
            synchronized (IdeBus.this) {
                return statusOf(active());
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (IdeBus.this) {
                writeControl((int) value & 0xff);
            }
        }
    };

    /** A channel whose INTRQ drives irq (ISA IRQ 14 or 15 on the PIIX3). */
    public IdeBus(IrqLine irq) {
        this.irq = irq;
        for (int i = 0; i < 2; i++) {
            IdeDevice d = new AbsentDevice();
            d.bus = this;
            d.unit = i;
            d.reset();
            units[i] = d;
        }
    }

    /** Plugs device in as unit 0 (master) or 1 (slave), before the guest runs. */
    public synchronized void attach(int unit, IdeDevice device) {
        if (unit != 0 && unit != 1) {
            throw new IllegalArgumentException("IDE unit must be 0 or 1, not " + unit);
        }
        if (units[unit].present()) {
            throw new IllegalStateException("IDE unit " + unit + " is already in use");
        }
        if (device.bus != null) {
            throw new IllegalStateException("device is already on a bus");
        }
        device.bus = this;
        device.unit = unit;
        units[unit] = device;
        device.reset();
        if (device instanceof AtaDrive a) {
            a.connected();
        } else if (device instanceof AtapiCdrom c) {
            c.connected();
        }
    }

    /** The device at unit, or null when the slot is empty. */
    public synchronized IdeDevice device(int unit) {
        IdeDevice d = units[unit & 1];
        return d.present() ? d : null;
    }

    /** Guest memory for bus-master DMA (set by the controller). */
    public synchronized void setMemory(GuestMemory memory) {
        dma.setMemory(memory);
    }

    public IoHandler commandBlockHandler() {
        return commandBlock;
    }

    public IoHandler controlBlockHandler() {
        return controlBlock;
    }

    BusMasterDma dma() {
        return dma;
    }

    /** QEMU's ide_bus_reset: unit 0 selected, control 0, both devices and the bus master reset, INTRQ low. */
    public synchronized void reset() {
        selected = 0;
        control = 0;
        units[0].reset();
        units[1].reset();
        dma.reset();
        setIrq(false);
    }

    private void setIrq(boolean level) {
        irqLevel = level;
        irq.setLevel(level);
    }

    /** Selected unit, Device Control, the INTRQ level, the bus master, then both units. */
    synchronized void saveState(StateWriter w) {
        w.begin("bus").u8("selected", selected).u8("control", control).bool("irq", irqLevel);
        dma.saveState(w, dma.pending == null ? -1 : dma.pending.unit);
        units[0].saveState(w);
        units[1].saveState(w);
        w.end();
    }

    /** Loads into this bus with the same units attached; the INTRQ line is driven to the saved level. */
    synchronized void loadState(StateReader r) throws StateException {
        r.begin("bus", 1);
        int sel = r.u8("selected");
        if (sel > 1) {
            throw r.invalid("selected", "unit " + sel);
        }
        int ctl = r.u8("control");
        boolean level = r.bool("irq");
        int pending = dma.loadState(r);
        if (pending >= 0 && !units[pending].present()) {
            throw r.invalid("pending", "a DMA command pending on the empty unit " + pending);
        }
        units[0].loadState(r);
        units[1].loadState(r);
        r.end();
        selected = sel;
        control = ctl;
        dma.pending = pending < 0 ? null : units[pending];
        setIrq(level);
    }

    IdeDevice active() {
        return units[selected];
    }

    private boolean anyPresent() {
        return units[0].present() || units[1].present();
    }

    /** The status a read returns: zero for an empty channel or an absent selected slave. */
    private int statusOf(IdeDevice d) {
        if (!anyPresent() || (d.unit != 0 && !d.present())) {
            return 0;
        }
        return d.status;
    }

    /** INTRQ asserted unless nIEN; the bus master's Interrupt bit follows (QEMU's ide_set_irq/bmdma_irq). */
    void raiseIrq() {
        if ((control & CONTROL_NIEN) == 0) {
            dma.interruptRaised();
            setIrq(true);
        }
    }

    private long readCommandBlock(int reg, int size) {
        IdeDevice s = active();
        if (reg == REG_DATA) {
            // QEMU serves a byte access to the data port as a word access, keeping the low byte
            return size == 1 ? s.readData(2) & 0xff : s.readData(size);
        }
        if (size != 1) {
            return (1L << (size * 8)) - 1;
        }
        boolean hob = (control & CONTROL_HOB) != 0;
        boolean any = anyPresent();
        switch (reg) {
            case REG_ERROR_FEATURES:
                if (!any || (s.unit != 0 && !s.present())) {
                    return 0;
                }
                return hob ? s.hobFeature : s.error;
            case REG_SECTOR_COUNT:
                return !any ? 0 : hob ? s.hobNsector : s.nsector & 0xff;
            case REG_LBA_LOW:
                return !any ? 0 : hob ? s.hobSector : s.sector;
            case REG_LBA_MID:
                return !any ? 0 : hob ? s.hobLcyl : s.lcyl;
            case REG_LBA_HIGH:
                return !any ? 0 : hob ? s.hobHcyl : s.hcyl;
            case REG_DEVICE:
                return !any ? 0 : s.select;
            default:
                int st = statusOf(s);
                setIrq(false);
                return st;
        }
    }

    private void writeCommandBlock(int reg, int size, long value) {
        if (reg == REG_DATA) {
            active().writeData(size == 1 ? 2 : size, size == 1 ? value & 0xff : value);
            return;
        }
        if (size != 1) {
            return;
        }
        int v = (int) value & 0xff;
        // ATA8-APT: the command block is not writable while the selected device is busy or transferring
        if (reg != REG_STATUS_COMMAND && (active().status & (IdeDevice.STATUS_BSY | IdeDevice.STATUS_DRQ)) != 0) {
            return;
        }
        switch (reg) {
            case REG_ERROR_FEATURES -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.hobFeature = d.feature;
                    d.feature = v;
                }
            }
            case REG_SECTOR_COUNT -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.hobNsector = d.nsector & 0xff;
                    d.nsector = v;
                }
            }
            case REG_LBA_LOW -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.hobSector = d.sector;
                    d.sector = v;
                }
            }
            case REG_LBA_MID -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.hobLcyl = d.lcyl;
                    d.lcyl = v;
                }
            }
            case REG_LBA_HIGH -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.hobHcyl = d.hcyl;
                    d.hcyl = v;
                }
            }
            case REG_DEVICE -> {
                control &= ~CONTROL_HOB;
                for (IdeDevice d : units) {
                    d.select = v | IdeDevice.DEVICE_OBSOLETE_ONES;
                }
                selected = (v & IdeDevice.DEVICE_DEV) != 0 ? 1 : 0;
            }
            default -> {
                control &= ~CONTROL_HOB;
                setIrq(false);
                executeCommand(v);
            }
        }
    }

    /** QEMU's ide_exec_cmd. */
    private void executeCommand(int cmd) {
        IdeDevice s = active();
        if (s.unit != 0 && !s.present()) {
            return;
        }
        if ((s.status & (IdeDevice.STATUS_BSY | IdeDevice.STATUS_DRQ)) != 0
                && !(cmd == IdeDevice.CMD_DEVICE_RESET && s.isPacketDevice())) {
            return;
        }
        if (!s.permitted(cmd)) {
            s.abortCommand();
            raiseIrq();
            return;
        }
        s.status = IdeDevice.STATUS_DRDY | IdeDevice.STATUS_BSY;
        s.error = 0;
        boolean complete = s.execute(cmd);
        if (complete) {
            s.status &= ~IdeDevice.STATUS_BSY;
            if (s.setsSeekComplete(cmd) && s.error == 0) {
                s.status |= IdeDevice.STATUS_DSC;
            }
            raiseIrq();
        }
    }

    /**
     * Device Control. SRST resets both devices and runs their diagnostics straight away (QEMU does it in a
     * bottom half right after the write, then clears SRST); nIEN and HOB are kept.
     */
    private void writeControl(int v) {
        boolean srst = (control & CONTROL_SRST) == 0 && (v & CONTROL_SRST) != 0;
        control = v;
        if (srst) {
            for (IdeDevice d : units) {
                d.status |= IdeDevice.STATUS_BSY;
            }
            if (dma.pending != null) {
                dma.setInactive(false);
            }
            for (IdeDevice d : units) {
                d.reset();
                d.diagnosticCommand();
            }
            control &= ~CONTROL_SRST;
        }
    }

    /** Runs a request kept by the block layer's "stop" policy; the machine calls it through the backend. */
    void retry(IdeDevice d) {
        synchronized (this) {
            d.retry();
        }
    }

    /** The empty slot: a register set that answers as QEMU's IDEState without a drive. */
    static final class AbsentDevice extends IdeDevice {
        AbsentDevice() {
            super(4);
        }

        @Override
        String kind() {
            return "absent";
        }

        @Override
        boolean present() {
            return false;
        }

        @Override
        boolean isPacketDevice() {
            return false;
        }

        @Override
        boolean permitted(int command) {
            return AtaDrive.permittedForDisk(command);
        }

        @Override
        boolean setsSeekComplete(int command) {
            return AtaDrive.diskSetsSeekComplete(command);
        }

        @Override
        boolean execute(int command) {
            // Only an empty master gets here (with a slave present): QEMU's handlers that do not look at the
            // drive succeed, the rest abort.
            switch (command) {
                case CMD_EXECUTE_DEVICE_DIAGNOSTIC:
                    return diagnosticCommand();
                case 0x10, 0x70, 0x94, 0x95, 0x96, 0x97, 0x99, 0xe0, 0xe1, 0xe2, 0xe3, 0xe6, 0xf5, CMD_FLUSH_CACHE:
                    if (command == CMD_FLUSH_CACHE) {
                        status = STATUS_DRDY | STATUS_DSC;
                    }
                    return true;
                case 0x98, 0xe5:
                    nsector = 0xff;
                    return true;
                default:
                    abortCommand();
                    return true;
            }
        }

        @Override
        int[] buildIdentify() {
            return new int[256];
        }
    }
}
