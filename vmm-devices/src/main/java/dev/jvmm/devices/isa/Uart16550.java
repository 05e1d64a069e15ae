package dev.jvmm.devices.isa;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.chardev.FlowControlledReceiver;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * National Semiconductor PC16550D UART (datasheet "PC16550D Universal Asynchronous Receiver/Transmitter
 * with FIFOs", section 8 "Registers"), as QEMU 7.2's hw/char/serial.c presents it: 8 byte-wide registers,
 * a 16-byte receive FIFO with trigger levels and a character-timeout interrupt, and a transmitter that
 * hands every byte straight to the chardev (so THRE/TEMT are set again at once).
 *
 * <p>Guest accesses arrive on vCPU threads and host input on a backend thread; all state is guarded by
 * this object's monitor. The chardev's input-ready hook is always run with the monitor released so that
 * backend locks and this one are never taken in opposite orders.
 *
 * <p>Like QEMU, the interrupt line follows "an interrupt is pending" and ignores MCR.OUT2.
 */
public final class Uart16550 implements IoHandler, FlowControlledReceiver, Saveable {
    /** Standard PC port bases and IRQs. */
    public static final int COM1_BASE = 0x3f8;
    public static final int COM1_IRQ = 4;
    public static final int COM2_BASE = 0x2f8;
    public static final int COM2_IRQ = 3;
    public static final int COM3_BASE = 0x3e8;
    public static final int COM4_BASE = 0x2e8;
    public static final int PORT_COUNT = 8;

    /** QEMU's isa_serial_io and isa_serial_irq: COM1-COM4 by index. */
    private static final int[] ISA_BASES = {COM1_BASE, COM2_BASE, COM3_BASE, COM4_BASE};
    private static final int[] ISA_IRQS = {4, 3, 4, 3};
    /** index, iobase and irq unset: taken from the index, the index from the count of ports so far. */
    private static final long UNSET = 0xffff_ffffL;

    /** QEMU's isa-serial (hw/char/serial-isa.c): -serial's COM ports, and -device isa-serial. */
    public static final TypeInfo ISA_TYPE = TypeInfo.type("isa-serial", "isa-device").category("Input")
            .implementing("acpi-dev-aml-interface")
            .props(Property.of("irq", PropType.UINT32, UNSET),
                    Property.of("index", PropType.UINT32, UNSET),
                    Property.of("iobase", PropType.UINT32, UNSET),
                    Property.fixed("wakeup", PropType.BOOL, false),
                    Property.of("chardev", PropType.CHR),
                    Property.fixed("baudbase", PropType.UINT32, 115200L),
                    Property.object("serial", PropType.child("serial")))
            .build();

    public static final DeviceClass ISA_CLASS = new DeviceClass(ISA_TYPE, (ctx, p, where) -> {
        long index = p.number("index");
        if (index == UNSET) {
            // QEMU counts every isa-serial it realizes; one without index= takes the next number
            index = where.model().devices().stream().filter(d -> d.type().equals("isa-serial")).count();
        }
        if (index >= ISA_BASES.length) {
            throw new PropertyException("Max. supported number of ISA serial ports is 4.");
        }
        long iobase = p.number("iobase") == UNSET ? ISA_BASES[(int) index] : p.number("iobase");
        long irq = p.number("irq") == UNSET ? ISA_IRQS[(int) index] : p.number("irq");
        if (irq > 15) {
            throw new PropertyException("Maximum value for \"irq\" is: 15");
        }
        if (iobase + PORT_COUNT > 0x10000) {
            throw new PropertyException(String.format("isa-serial: ports 0x%x+%d are outside the I/O space", iobase,
                    PORT_COUNT));
        }
        Chardev chr = null;
        String id = p.str("chardev").orElse(null);
        if (id != null) {
            chr = ctx.chardevs().get(id).orElseThrow(() ->
                    new PropertyException("Property 'serial.chardev' can't find value '" + id + "'"));
            // -serial's own chardevs are taken by the option that made them
            if (!where.byBoard() && !ctx.chardevs().claim(id)) {
                throw new PropertyException("Property 'serial.chardev' can't take value '" + id + "': Device '" + id
                        + "' is in use");
            }
        }
        Uart16550 uart = new Uart16550((int) iobase, ctx.isaIrq((int) irq), chr);
        try {
            uart.attach(ctx.pio());
        } catch (IllegalStateException e) {
            uart.close();
            throw new PropertyException("isa-serial: " + e.getMessage());
        }
        if (id != null) {
            ctx.chardevs().onChange(id, uart::changeChardev);
        }
        ctx.describeIsa(AcpiIsaDevice.serial((int) index, (int) iobase, (int) irq));
        // qom-get reads the values realize settled, as QEMU's properties do after serial_isa_realizefn
        where.node().addConstant("index", "uint32", index);
        where.node().addConstant("iobase", "uint32", iobase);
        where.node().addConstant("irq", "uint32", irq);
        return new Realized<>(uart, uart::reset, uart::close);
    });

    // Register offsets (datasheet table II).
    static final int RBR = 0;   // receiver buffer (read, DLAB=0)
    static final int THR = 0;   // transmitter holding (write, DLAB=0)
    static final int DLL = 0;   // divisor latch LSB (DLAB=1)
    static final int IER = 1;   // interrupt enable (DLAB=0)
    static final int DLM = 1;   // divisor latch MSB (DLAB=1)
    static final int IIR = 2;   // interrupt identification (read)
    static final int FCR = 2;   // FIFO control (write)
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    // IER bits.
    static final int IER_ERBFI = 0x01;  // received data available
    static final int IER_ETBEI = 0x02;  // transmitter holding register empty
    static final int IER_ELSI = 0x04;   // receiver line status
    static final int IER_EDSSI = 0x08;  // modem status

    // IIR values.
    static final int IIR_NO_INT = 0x01;
    static final int IIR_MSI = 0x00;
    static final int IIR_THRI = 0x02;
    static final int IIR_RDI = 0x04;
    static final int IIR_RLSI = 0x06;
    static final int IIR_CTI = 0x0c;
    static final int IIR_ID_MASK = 0x0e;
    static final int IIR_FIFO_ENABLED = 0xc0;

    // FCR bits.
    static final int FCR_FIFO_ENABLE = 0x01;
    static final int FCR_RCVR_RESET = 0x02;
    static final int FCR_XMIT_RESET = 0x04;
    static final int FCR_DMA_MODE = 0x08;
    static final int FCR_TRIGGER_SHIFT = 6;

    // LCR bits.
    static final int LCR_WLS_MASK = 0x03;
    static final int LCR_STB = 0x04;
    static final int LCR_PEN = 0x08;
    static final int LCR_DLAB = 0x80;

    // MCR bits.
    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    static final int MCR_OUT2 = 0x08;
    static final int MCR_LOOP = 0x10;
    static final int MCR_MASK = 0x1f;

    // LSR bits.
    static final int LSR_DR = 0x01;
    static final int LSR_OE = 0x02;
    static final int LSR_PE = 0x04;
    static final int LSR_FE = 0x08;
    static final int LSR_BI = 0x10;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    static final int LSR_ERROR_MASK = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

    // MSR bits.
    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_DELTA_MASK = 0x0f;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;

    static final int FIFO_SIZE = 16;
    private static final int[] TRIGGER_LEVELS = {1, 4, 8, 14};
    /** The PC's 1.8432 MHz crystal divided by 16. */
    private static final int BAUD_BASE = 115200;

    private final int base;
    private final IrqLine irq;
    /** The backend; chardev-change replaces it while the machine runs. */
    private volatile Chardev chardev;
    private final ScheduledExecutorService timers;
    private final boolean ownsTimers;
    private final byte[] txByte = new byte[1];
    private final Runnable timeoutTask = this::characterTimeout;

    // Register state, guarded by this.
    private int ier;
    private int iir = IIR_NO_INT;
    private int fcr;
    private int lcr;
    private int mcr;
    private int lsr;
    private int msr;
    private int scr;
    private int divisor;
    private int rbr;
    private boolean thrIpending;
    private boolean timeoutIpending;
    private boolean irqLevel;
    private int triggerLevel = 1;
    private long charTimeNanos;

    private final byte[] rxFifo = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;

    private long timeoutDeadline;   // System.nanoTime() value, 0 when no timeout is due
    private boolean timerArmed;

    private volatile Runnable inputReadyHook = () -> { };

    /**
     * @param base    first of the 8 ports (e.g. {@link #COM1_BASE})
     * @param irq     the ISA IRQ line (IRQ 4 for COM1)
     * @param chardev backend; null means output is discarded and no input arrives
     * @param timers  runs the character-timeout timer; shared by the machine
     */
    public Uart16550(int base, IrqLine irq, Chardev chardev, ScheduledExecutorService timers) {
        this(base, irq, chardev, timers, false);
    }

    /** As above, with a private daemon timer thread that {@link #close()} stops. */
    public Uart16550(int base, IrqLine irq, Chardev chardev) {
        this(base, irq, chardev, java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "uart-timer-" + Integer.toHexString(base));
            t.setDaemon(true);
            return t;
        }), true);
    }

    private Uart16550(int base, IrqLine irq, Chardev chardev, ScheduledExecutorService timers, boolean owns) {
        this.base = base;
        this.irq = irq == null ? IrqLine.NONE : irq;
        this.chardev = chardev;
        this.timers = timers;
        this.ownsTimers = owns;
        synchronized (this) {
            resetLocked();
        }
        if (chardev != null) {
            chardev.setReceiver(this);
        }
    }

    /** Registers the 8 ports on bus. */
    public void attach(PioBus bus) {
        bus.register(base, PORT_COUNT, this);
    }

    public int base() {
        return base;
    }

    public Chardev chardev() {
        return chardev;
    }

    /**
     * chardev-change (QEMU's serial_be_change): the port takes the new backend; its registers and line
     * settings stay. Called without the monitor held, as the receiver's input-ready hook needs.
     */
    public void changeChardev(Chardev next) {
        Chardev old = chardev;
        if (old != null) {
            old.setReceiver(null);
        }
        chardev = next;
        next.setReceiver(this);
    }

    /** Machine reset: registers to power-on values, FIFO emptied. */
    public void reset() {
        synchronized (this) {
            resetLocked();
        }
        inputReadyHook.run();
    }

    /** Stops a private timer thread, if this device made one; the chardev is owned by the machine. */
    public void close() {
        if (ownsTimers) {
            timers.shutdownNow();
        }
    }

    private void resetLocked() {
        ier = 0;
        iir = IIR_NO_INT;
        fcr = 0;
        lcr = 0;
        lsr = LSR_TEMT | LSR_THRE;
        msr = MSR_DCD | MSR_DSR | MSR_CTS;
        mcr = MCR_OUT2;     // QEMU's power-on value
        scr = 0;
        divisor = 0x0c;     // 9600 baud
        rbr = 0;
        thrIpending = false;
        timeoutIpending = false;
        triggerLevel = 1;
        rxHead = 0;
        rxCount = 0;
        timeoutDeadline = 0;
        updateParameters();
        updateIrq();
    }

    // ---- guest side -------------------------------------------------------------------------------

    @Override
    public long read(long offset, int size) {
        long value = 0;
        boolean wake = false;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                int off = (int) offset + i;
                int b;
                if (off < 0 || off >= PORT_COUNT) {
                    b = 0xff;
                } else {
                    b = readRegister(off);
                    wake |= off == RBR && (lcr & LCR_DLAB) == 0;
                }
                value |= (long) (b & 0xff) << (8 * i);
            }
        }
        if (wake) {
            inputReadyHook.run();
        }
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        boolean wake = false;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                int off = (int) offset + i;
                if (off >= 0 && off < PORT_COUNT) {
                    wake |= writeRegister(off, (int) (value >>> (8 * i)) & 0xff);
                }
            }
        }
        if (wake) {
            inputReadyHook.run();
        }
    }

    private int readRegister(int off) {
        switch (off) {
            case RBR: {
                if ((lcr & LCR_DLAB) != 0) {
                    return divisor & 0xff;
                }
                int ret;
                if ((fcr & FCR_FIFO_ENABLE) != 0) {
                    ret = rxCount == 0 ? 0 : popFifo();
                    if (rxCount == 0) {
                        lsr &= ~(LSR_DR | LSR_BI);
                        timeoutDeadline = 0;
                    } else {
                        armTimeout();
                    }
                    timeoutIpending = false;
                } else {
                    ret = rbr;
                    lsr &= ~(LSR_DR | LSR_BI);
                }
                updateIrq();
                return ret;
            }
            case IER:
                return (lcr & LCR_DLAB) != 0 ? (divisor >>> 8) & 0xff : ier;
            case IIR: {
                int ret = iir;
                if ((ret & IIR_ID_MASK) == IIR_THRI) {
                    // Reading IIR with THRI as the source acknowledges it (datasheet table IV).
                    thrIpending = false;
                    updateIrq();
                }
                return ret;
            }
            case LCR:
                return lcr;
            case MCR:
                return mcr;
            case LSR: {
                int ret = lsr;
                if ((lsr & (LSR_BI | LSR_OE)) != 0) {
                    lsr &= ~(LSR_BI | LSR_OE);
                    updateIrq();
                }
                return ret;
            }
            case MSR: {
                if ((mcr & MCR_LOOP) != 0) {
                    // Loopback wires OUT2->DCD, OUT1->RI, RTS->CTS, DTR->DSR.
                    return ((mcr & (MCR_OUT1 | MCR_OUT2)) << 4) | ((mcr & MCR_RTS) << 3) | ((mcr & MCR_DTR) << 5);
                }
                int ret = msr;
                if ((msr & MSR_DELTA_MASK) != 0) {
                    msr &= ~MSR_DELTA_MASK;
                    updateIrq();
                }
                return ret;
            }
            case SCR:
                return scr;
            default:
                return 0xff;
        }
    }

    /** Returns whether input may now be accepted again (the backend's hook should run). */
    private boolean writeRegister(int off, int val) {
        switch (off) {
            case THR:
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = (divisor & 0xff00) | val;
                    updateParameters();
                    return false;
                }
                transmit(val);
                return false;
            case IER: {
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = (divisor & 0x00ff) | (val << 8);
                    updateParameters();
                    return false;
                }
                int changed = (ier ^ val) & 0x0f;
                ier = val & 0x0f;
                if ((changed & IER_ETBEI) != 0) {
                    // Enabling ETBEI while THR is empty raises THRI at once, as on the real part.
                    thrIpending = (ier & IER_ETBEI) != 0 && (lsr & LSR_THRE) != 0;
                }
                if (changed != 0) {
                    updateIrq();
                }
                return false;
            }
            case FCR: {
                boolean wake = false;
                if (((val ^ fcr) & FCR_FIFO_ENABLE) != 0) {
                    // Toggling FIFO mode empties both FIFOs.
                    val |= FCR_RCVR_RESET | FCR_XMIT_RESET;
                }
                if ((val & FCR_RCVR_RESET) != 0) {
                    rxHead = 0;
                    rxCount = 0;
                    lsr &= ~(LSR_DR | LSR_BI);
                    timeoutIpending = false;
                    timeoutDeadline = 0;
                    wake = true;
                }
                if ((val & FCR_XMIT_RESET) != 0) {
                    lsr |= LSR_THRE | LSR_TEMT;
                    thrIpending = true;
                }
                fcr = val & (FCR_FIFO_ENABLE | FCR_DMA_MODE | 0xc0);
                if ((fcr & FCR_FIFO_ENABLE) != 0) {
                    iir |= IIR_FIFO_ENABLED;
                    triggerLevel = TRIGGER_LEVELS[(val >>> FCR_TRIGGER_SHIFT) & 3];
                } else {
                    iir &= ~IIR_FIFO_ENABLED;
                    triggerLevel = 1;
                }
                updateIrq();
                return wake;
            }
            case LCR:
                lcr = val;
                updateParameters();
                return false;
            case MCR: {
                boolean wasLoop = (mcr & MCR_LOOP) != 0;
                mcr = val & MCR_MASK;
                return wasLoop && (mcr & MCR_LOOP) == 0;
            }
            case LSR:
            case MSR:
                return false;   // read-only; QEMU ignores writes
            case SCR:
                scr = val;
                return false;
            default:
                return false;
        }
    }

    private void transmit(int val) {
        thrIpending = false;
        lsr &= ~(LSR_THRE | LSR_TEMT);
        // Drop THRI before the byte leaves and raise it again after, as QEMU does: with the line
        // edge-triggered at the PIC/IOAPIC, every transmitted byte must give a fresh edge.
        updateIrq();
        if ((mcr & MCR_LOOP) != 0) {
            receiveByte(val);
        } else {
            Chardev c = chardev;
            if (c != null) {
                txByte[0] = (byte) val;
                c.write(txByte, 0, 1);
            }
        }
        // The host side takes the byte at once, so the transmitter is empty again.
        lsr |= LSR_THRE | LSR_TEMT;
        thrIpending = true;
        updateIrq();
    }

    private void updateParameters() {
        if (divisor == 0 || divisor > BAUD_BASE) {
            return; // QEMU keeps the old speed for an out-of-range divisor
        }
        int frameBits = 1 + 5 + (lcr & LCR_WLS_MASK) + ((lcr & LCR_PEN) != 0 ? 1 : 0) + ((lcr & LCR_STB) != 0 ? 2 : 1);
        charTimeNanos = (1_000_000_000L * divisor / BAUD_BASE) * frameBits;
    }

    /** Interrupt priorities of datasheet table IV: line status, data/timeout, THR empty, modem status. */
    private void updateIrq() {
        int id = IIR_NO_INT;
        if ((ier & IER_ELSI) != 0 && (lsr & LSR_ERROR_MASK) != 0) {
            id = IIR_RLSI;
        } else if ((ier & IER_ERBFI) != 0 && (lsr & LSR_DR) != 0
                && ((fcr & FCR_FIFO_ENABLE) == 0 || rxCount >= triggerLevel)) {
            id = IIR_RDI;
        } else if ((ier & IER_ERBFI) != 0 && timeoutIpending) {
            id = IIR_CTI;
        } else if ((ier & IER_ETBEI) != 0 && thrIpending) {
            id = IIR_THRI;
        } else if ((ier & IER_EDSSI) != 0 && (msr & MSR_DELTA_MASK) != 0) {
            id = IIR_MSI;
        }
        iir = id | (iir & 0xf0);
        boolean level = id != IIR_NO_INT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.setLevel(level);
        }
    }

    // ---- receive side ----------------------------------------------------------------------------

    private int popFifo() {
        int b = rxFifo[rxHead] & 0xff;
        rxHead = (rxHead + 1) % FIFO_SIZE;
        rxCount--;
        return b;
    }

    private void receiveByte(int b) {
        if ((fcr & FCR_FIFO_ENABLE) != 0) {
            if (rxCount == FIFO_SIZE) {
                lsr |= LSR_OE;  // an overrun never overwrites FIFO contents
            } else {
                rxFifo[(rxHead + rxCount) % FIFO_SIZE] = (byte) b;
                rxCount++;
            }
            lsr |= LSR_DR;
            armTimeout();
        } else {
            if ((lsr & LSR_DR) != 0) {
                lsr |= LSR_OE;
            }
            rbr = b;
            lsr |= LSR_DR;
        }
    }

    /** QEMU's can_receive: in FIFO mode up to the trigger level (at least 1 while not full). */
    @Override
    public synchronized int canReceive() {
        if ((mcr & MCR_LOOP) != 0) {
            return 0;   // the serial input is disconnected in loopback; hold host input back
        }
        if ((fcr & FCR_FIFO_ENABLE) != 0) {
            if (rxCount >= FIFO_SIZE) {
                return 0;
            }
            return rxCount < triggerLevel ? triggerLevel - rxCount : 1;
        }
        return (lsr & LSR_DR) != 0 ? 0 : 1;
    }

    @Override
    public void setInputReadyHook(Runnable hook) {
        inputReadyHook = hook == null ? () -> { } : hook;
    }

    /** Host input. Bytes beyond what {@link #canReceive()} allowed set LSR.OE and are lost, as on hardware. */
    @Override
    public synchronized void receive(byte[] data, int offset, int length) {
        for (int i = 0; i < length; i++) {
            receiveByte(data[offset + i] & 0xff);
        }
        if (length > 0) {
            updateIrq();
        }
    }

    // ---- saved state -------------------------------------------------------------------------------

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Every register, the receive FIFO in order, the pending THRE and timeout interrupts, the character
     * time (it keeps the old speed across an out-of-range divisor, so it is not derivable) and the time left
     * until a character timeout. Transmission is synchronous, so nothing is in flight towards the chardev.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        w.u32("iobase", base);
        w.u8("ier", ier).u8("iir", iir).u8("fcr", fcr).u8("lcr", lcr).u8("mcr", mcr).u8("lsr", lsr)
                .u8("msr", msr).u8("scr", scr).u16("divisor", divisor).u8("rbr", rbr)
                .bool("thr-pending", thrIpending).bool("timeout-pending", timeoutIpending)
                .u64("char-time-ns", charTimeNanos);
        byte[] fifo = new byte[rxCount];
        for (int i = 0; i < rxCount; i++) {
            fifo[i] = rxFifo[(rxHead + i) % FIFO_SIZE];
        }
        w.bytes("rx-fifo", fifo);
        w.u64("timeout-in-ns", timeoutDeadline == 0 ? -1 : Math.max(0, timeoutDeadline - System.nanoTime()));
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        synchronized (this) {
            r.expectU32("iobase", base);
            int vIer = r.u8("ier", 0x0f);
            int vIir = r.u8("iir");
            int vFcr = r.u8("fcr");
            if ((vFcr & ~(FCR_FIFO_ENABLE | FCR_DMA_MODE | 0xc0)) != 0) {
                throw r.invalid("fcr", String.format("0x%02x has the write-only reset bits set", vFcr));
            }
            if (((vIir & IIR_FIFO_ENABLED) != 0) != ((vFcr & FCR_FIFO_ENABLE) != 0)) {
                throw r.invalid("iir", "its FIFO bits disagree with FCR");
            }
            int vLcr = r.u8("lcr");
            int vMcr = r.u8("mcr", MCR_MASK);
            int vLsr = r.u8("lsr");
            int vMsr = r.u8("msr");
            int vScr = r.u8("scr");
            int vDivisor = r.u16("divisor");
            int vRbr = r.u8("rbr");
            boolean thr = r.bool("thr-pending");
            boolean timeout = r.bool("timeout-pending");
            long charTime = r.u64("char-time-ns", 1, 12 * 1_000_000_000L);
            byte[] fifo = r.bytes("rx-fifo");
            if (fifo.length > ((vFcr & FCR_FIFO_ENABLE) != 0 ? FIFO_SIZE : 0)) {
                throw r.invalid("rx-fifo", fifo.length + " bytes with FCR 0x" + Integer.toHexString(vFcr));
            }
            long timeoutIn = r.u64("timeout-in-ns", -1, 4 * charTime);
            ier = vIer;
            iir = vIir;
            fcr = vFcr;
            lcr = vLcr;
            mcr = vMcr;
            lsr = vLsr;
            msr = vMsr;
            scr = vScr;
            divisor = vDivisor;
            rbr = vRbr;
            thrIpending = thr;
            timeoutIpending = timeout;
            charTimeNanos = charTime;
            triggerLevel = (fcr & FCR_FIFO_ENABLE) != 0 ? TRIGGER_LEVELS[fcr >>> FCR_TRIGGER_SHIFT] : 1;
            System.arraycopy(fifo, 0, rxFifo, 0, fifo.length);
            rxHead = 0;
            rxCount = fifo.length;
            if (timeoutIn >= 0) {
                timeoutDeadline = System.nanoTime() + timeoutIn;
                if (timeoutDeadline == 0) {
                    timeoutDeadline = 1;
                }
                if (!timerArmed) {
                    timerArmed = true;
                    schedule(timeoutIn);
                }
            } else {
                timeoutDeadline = 0;
            }
            updateIrq();
        }
        inputReadyHook.run(); // the backend may hold input that the restored FIFO now has room for
    }
    // ---- character timeout -------------------------------------------------------------------------

    /** The timeout fires after four character times without FIFO activity (datasheet 8.6.3). */
    private void armTimeout() {
        timeoutDeadline = System.nanoTime() + 4 * charTimeNanos;
        if (timeoutDeadline == 0) {
            timeoutDeadline = 1;
        }
        if (!timerArmed) {
            timerArmed = true;
            schedule(4 * charTimeNanos);
        }
    }

    private void schedule(long delayNanos) {
        try {
            timers.schedule(timeoutTask, Math.max(delayNanos, 1), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            timerArmed = false; // shutting down
        }
    }

    private synchronized void characterTimeout() {
        if (timeoutDeadline == 0) {
            timerArmed = false;
            return;
        }
        long remaining = timeoutDeadline - System.nanoTime();
        if (remaining > 0) {
            schedule(remaining);
            return;
        }
        timerArmed = false;
        timeoutDeadline = 0;
        if (rxCount > 0) {
            timeoutIpending = true;
            updateIrq();
        }
    }
}
