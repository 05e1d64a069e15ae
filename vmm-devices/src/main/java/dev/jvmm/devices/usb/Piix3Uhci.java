package dev.jvmm.devices.usb;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import dev.jvmm.devices.model.BaseTypes;
import dev.jvmm.devices.model.Bus;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.pci.IntxLine;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciConfigSpace;
import dev.jvmm.devices.pci.PciFunction;
import dev.jvmm.devices.pci.PciPlacement;

import java.util.List;

/**
 * Intel UHCI Design Guide rev 1.1, section 2.1 (I/O registers) and chapter 3 (data structures): the PIIX3's USB
 * function (82371SB function 2, PCI 8086:7020, class 0c0300) as QEMU 7.2's piix3-usb-uhci, with two root ports
 * and nothing attached to them.
 *
 * <p>Configuration space is QEMU's: revision 01h, interrupt pin D, BAR4 a 32-byte I/O window, SBRN (60h) 10h
 * (USB 1.0), 6Ah 01h, LEGSUP (C0h) 0 at reset; from 40h up every byte is plain, guest-writable configuration
 * space, as in QEMU. The I/O registers answer in 16-bit units, QEMU's rules for other widths included: a dword
 * is two words (offset, offset + 2), a byte is the low byte of the word at that same offset, and a word at an
 * offset no register starts at reads FF7Fh and ignores writes.
 *
 * <p>While Run/Stop is set the controller runs one frame per millisecond of guest time (a {@link VirtualClock}
 * timer, so nothing runs while the VM is paused or the controller halted): it reads the frame list entry at
 * FLBASEADD + 4 * (FRNUM &amp; 3FFh) and walks its queue heads and transfer descriptors, at most
 * {@link UhciSchedule#MAX_LINKS_PER_FRAME} of them a frame, so loops and garbage cost bounded work. With no device attached,
 * every transaction gets no handshake: the CRC/Time Out bit is set and the error counter counts down; at zero
 * the TD is retired (Active cleared) with USB Error Interrupt, and USBINT too if it asked for IOC. A structure
 * outside guest RAM is a master abort (Host System Error); an unknown PID a Host Controller Process Error; both
 * clear Run/Stop. The interrupt is INTD# through the bus's routing.
 */
public final class Piix3Uhci implements PciFunction, Saveable {
    /** QEMU's abstract pci-uhci-usb: a conventional PCI function. */
    public static final TypeInfo PCI_UHCI_USB = TypeInfo.abstractType("pci-uhci-usb", "pci-device")
            .implementing("conventional-pci-device").build();

    /** The USB bus a controller provides, its own hotplug handler (no USB device type plugs into it yet). */
    public static final TypeInfo USB_BUS = BaseTypes.busType("usb-bus", "bus").implementing("hotplug-handler")
            .build();

    /** QEMU's piix3-usb-uhci with its two standalone-controller properties. */
    public static final TypeInfo TYPE = TypeInfo.type("piix3-usb-uhci", PCI_UHCI_USB.name()).category("USB")
            .props(Property.of("maxframes", PropType.UINT32, 128L), Property.of("bandwidth", PropType.UINT32, 1280L))
            .build();

    /**
     * On pci.0 where addr says (libvirt: 01.2, next to the PIIX3 and its IDE); the bus resets it. Its USB bus is
     * "ID.0", or without id= "usb-bus.N", QEMU's count of anonymous USB buses, and is its own hotplug handler.
     */
    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        PciBus pci = where.bus().owner(PciBus.class);
        PciPlacement at = PciPlacement.choose(pci, TYPE.name(), p.number("addr"));
        Piix3Uhci uhci = new Piix3Uhci(ctx.memory(), ctx.clock(), p.number("maxframes"), p.number("bandwidth"),
                where.idOrEmpty());
        pci.add(at.slot(), at.function(), uhci);
        at.describe(where.node());
        String busName = where.id() + ".0";
        for (int n = 0; where.id() == null; n++) {
            busName = USB_BUS.name() + "." + n;
            if (where.model().bus(busName).isEmpty()) {
                break;
            }
        }
        Bus bus = where.model().addBus(where.node(), busName, USB_BUS.name(), uhci);
        bus.node().addLink("hotplug-handler", "hotplug-handler", bus.node()::path);
        return Realized.of(uhci);
    });

    public static final int VENDOR_INTEL = 0x8086;
    /** 82371SB function 2: USB. */
    public static final int DEVICE_82371SB_USB = 0x7020;
    public static final int REVISION = 0x01;
    /** Serial bus controller, USB, programming interface 00h (UHCI). */
    public static final int CLASS_USB_UHCI = 0x0c0300;
    /** PCI 3.0 section 6.2.4: INTD#. */
    public static final int INTERRUPT_PIN_D = 4;
    /** The BAR holding USBBA (base of the I/O registers), 32 bytes. */
    public static final int USBBA_BAR = 4;
    public static final int USBBA_SIZE = 0x20;
    /** Design guide 1.2.2 / PIIX datasheets: Serial Bus Release Number register, 10h = USB 1.0. */
    public static final int SBRN = 0x60;
    public static final int SBRN_USB_1_0 = 0x10;
    /** The byte QEMU sets to 01h at every reset (its "USB clock"). */
    public static final int USB_CLOCK = 0x6a;
    /** USB legacy keyboard/mouse support register; QEMU's PIIX3 keeps it plain configuration space, 0 at reset. */
    public static final int LEGSUP = 0xc0;
    static final int PCI_SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    static final int PCI_SUBSYSTEM_ID_QEMU = 0x1100;

    /** Section 2.1: the I/O registers' offsets in USBBA. */
    public static final int USBCMD = 0x00;
    public static final int USBSTS = 0x02;
    public static final int USBINTR = 0x04;
    public static final int FRNUM = 0x06;
    public static final int FLBASEADD = 0x08;
    public static final int SOFMOD = 0x0c;
    public static final int PORTSC1 = 0x10;
    public static final int PORTSC2 = 0x12;

    /** 2.1.1 USBCMD bits. */
    public static final int USBCMD_RS = 1;
    public static final int USBCMD_HCRESET = 1 << 1;
    public static final int USBCMD_GRESET = 1 << 2;
    public static final int USBCMD_EGSM = 1 << 3;
    public static final int USBCMD_FGR = 1 << 4;
    public static final int USBCMD_SWDBG = 1 << 5;
    public static final int USBCMD_CF = 1 << 6;
    public static final int USBCMD_MAXP = 1 << 7;

    /** 2.1.2 USBSTS bits, write-1-to-clear. */
    public static final int USBSTS_USBINT = 1;
    public static final int USBSTS_ERROR = 1 << 1;
    public static final int USBSTS_RD = 1 << 2;
    public static final int USBSTS_HSE = 1 << 3;
    public static final int USBSTS_HCPE = 1 << 4;
    public static final int USBSTS_HCHALTED = 1 << 5;

    /** 2.1.3 USBINTR bits. */
    public static final int USBINTR_TIMEOUT_CRC = 1;
    public static final int USBINTR_RESUME = 1 << 1;
    public static final int USBINTR_IOC = 1 << 2;
    public static final int USBINTR_SP = 1 << 3;

    /** 2.1.7 PORTSC bits. */
    public static final int PORTSC_CCS = 1;
    public static final int PORTSC_CSC = 1 << 1;
    public static final int PORTSC_PED = 1 << 2;
    public static final int PORTSC_PEDC = 1 << 3;
    public static final int PORTSC_LINE_STATUS = 3 << 4;
    public static final int PORTSC_RD = 1 << 6;
    /** Reserved, always reads 1. */
    public static final int PORTSC_ALWAYS_1 = 1 << 7;
    public static final int PORTSC_LSDA = 1 << 8;
    public static final int PORTSC_PR = 1 << 9;
    public static final int PORTSC_SUSP = 1 << 12;
    static final int PORTSC_READ_ONLY = PORTSC_CCS | PORTSC_CSC | PORTSC_PEDC | PORTSC_LINE_STATUS
            | PORTSC_ALWAYS_1 | PORTSC_LSDA;
    static final int PORTSC_WRITE_CLEAR = PORTSC_CSC | PORTSC_PEDC;

    /** One frame a millisecond (12 000 full-speed bit times at the default SOF timing). */
    public static final long FRAME_NANOS = 1_000_000L;
    /** Frames run by one timer expiry when guest time got ahead; the rest follow on the next ones. */
    public static final int MAX_FRAMES_PER_TICK = 16;
    static final int FRNUM_MASK = 0x7ff;
    static final int SOFMOD_DEFAULT = 64;
    /** What a word at an offset with no register reads, as in QEMU. */
    static final int UNDECODED = 0xff7f;
    /** The two causes USBINT stands for, enabled separately in USBINTR. */
    static final int CAUSE_IOC = 1;
    static final int CAUSE_SHORT_PACKET = 2;

    private final PciConfigSpace config;
    private final PciBar bar;
    private final VirtualClock clock;
    private final VirtualClock.Timer frameTimer;
    private final UhciSchedule schedule;
    private final long maxFrames;
    private final long bandwidth;
    private final String qdevId;
    private IntxLine intx;

    // Controller state, guarded by this.
    private int usbcmd;
    private int usbsts;
    private int usbintr;
    private int frnum;
    private int flbaseadd;
    private int sofmod;
    private final int[] portsc = new int[2];
    /** The USBINT causes seen (CAUSE_*), cleared with USBINT. */
    private int causes;
    /** Guest time the next frame is due at, while running. */
    private long nextFrame;

    /**
     * @param maxFrames frames a late timer may catch up at most; older ones are skipped (QEMU's maxframes)
     * @param bandwidth QEMU's bytes-per-frame budget; with no device attached no byte moves, so it only travels
     *                  with the state
     */
    public Piix3Uhci(GuestMemory memory, VirtualClock clock, long maxFrames, long bandwidth, String qdevId) {
        this.config = new PciConfigSpace(VENDOR_INTEL, DEVICE_82371SB_USB, REVISION, CLASS_USB_UHCI, 0);
        this.bar = new PciBar(USBBA_BAR, PciBar.Kind.IO, USBBA_SIZE, false, new Registers());
        config.addBar(bar);
        config.set16(PciConfigSpace.SUBSYSTEM_VENDOR_ID, PCI_SUBSYSTEM_VENDOR_QEMU);
        config.set16(PciConfigSpace.SUBSYSTEM_ID, PCI_SUBSYSTEM_ID_QEMU);
        config.set8(PciConfigSpace.INTERRUPT_PIN, INTERRUPT_PIN_D);
        config.set8(SBRN, SBRN_USB_1_0);
        config.set8(USB_CLOCK, 0x01);
        for (int off = PciConfigSpace.DEVICE_SPECIFIC; off < PciConfigSpace.SIZE; off += 8) {
            config.setWritable(off, 8, -1L);
        }
        config.sealInitialState();
        this.schedule = new UhciSchedule(memory);
        this.clock = clock;
        this.frameTimer = clock.newTimer(this::frameTick);
        this.maxFrames = Math.max(1, maxFrames);
        this.bandwidth = bandwidth;
        this.qdevId = qdevId;
        resetController();
    }

    @Override
    public synchronized int readConfig(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        config.write(offset, size, value);
    }

    @Override
    public String description() {
        return "USB controller";
    }

    @Override
    public String qdevId() {
        return qdevId;
    }

    @Override
    public List<PciBar> bars() {
        return List.of(bar);
    }

    @Override
    public synchronized void connectIntx(IntxLine line) {
        intx = line;
        updateIrq();
    }

    /** Machine reset: configuration space and controller to their reset values (FRNUM keeps counting from where it is, as in QEMU). */
    @Override
    public synchronized void reset() {
        config.reset();
        resetController();
    }

    /** The I/O registers, for tests and machines that map them themselves. */
    public IoHandler registers() {
        return bar.handler();
    }

    /** Whether the frame timer is armed (Run/Stop set and not yet halted). */
    public boolean frameTimerArmed() {
        return frameTimer.pending();
    }

    /** HCRESET and GRESET: every register to its default but FRNUM; the schedule stops. */
    private void resetController() {
        frameTimer.cancel();
        usbcmd = 0;
        usbsts = USBSTS_HCHALTED;
        usbintr = 0;
        flbaseadd = 0;
        sofmod = SOFMOD_DEFAULT;
        portsc[0] = PORTSC_ALWAYS_1;
        portsc[1] = PORTSC_ALWAYS_1;
        causes = 0;
        updateIrq();
    }

    private void updateIrq() {
        boolean level = ((causes & CAUSE_IOC) != 0 && (usbintr & USBINTR_IOC) != 0)
                || ((causes & CAUSE_SHORT_PACKET) != 0 && (usbintr & USBINTR_SP) != 0)
                || ((usbsts & USBSTS_ERROR) != 0 && (usbintr & USBINTR_TIMEOUT_CRC) != 0)
                || ((usbsts & USBSTS_RD) != 0 && (usbintr & USBINTR_RESUME) != 0)
                || (usbsts & (USBSTS_HSE | USBSTS_HCPE)) != 0;
        if (intx != null) {
            intx.setLevel(level);
        }
    }

    private int readWord(int off) {
        switch (off) {
            case USBCMD: return usbcmd;
            case USBSTS: return usbsts;
            case USBINTR: return usbintr;
            case FRNUM: return frnum;
            case FLBASEADD: return flbaseadd & 0xffff;
            case FLBASEADD + 2: return flbaseadd >>> 16;
            case SOFMOD: return sofmod;
            default:
                int port = portIndex(off);
                return port >= 0 ? portsc[port] : UNDECODED;
        }
    }

    private void writeWord(int off, int v) {
        switch (off) {
            case USBCMD -> writeCommand(v);
            case USBSTS -> {
                // QEMU clears whatever bits are written, HCHalted included
                usbsts &= ~v;
                if ((v & USBSTS_USBINT) != 0) {
                    causes = 0;
                }
                updateIrq();
            }
            case USBINTR -> {
                usbintr = v;
                updateIrq();
            }
            case FRNUM -> {
                // 2.1.4: written only while halted
                if ((usbsts & USBSTS_HCHALTED) != 0) {
                    frnum = v & FRNUM_MASK;
                }
            }
            case FLBASEADD -> flbaseadd = (flbaseadd & 0xffff0000) | (v & 0xf000);
            case FLBASEADD + 2 -> flbaseadd = (flbaseadd & 0xffff) | (v << 16);
            case SOFMOD -> sofmod = v & 0xff;
            default -> {
                int port = portIndex(off);
                if (port >= 0) {
                    writePort(port, v);
                }
            }
        }
    }

    /** PORTSC1 at 10h, PORTSC2 at 12h; QEMU decodes 10h-1Fh by word index (odd offsets included). */
    private static int portIndex(int off) {
        if (off < PORTSC1 || off >= USBBA_SIZE) {
            return -1;
        }
        int n = (off >> 1) & 7;
        return n < 2 ? n : -1;
    }

    private void writeCommand(int v) {
        if ((v & (USBCMD_GRESET | USBCMD_HCRESET)) != 0) {
            // No device hangs off the root ports, so the global reset's bus signalling reaches nobody.
            resetController();
            return;
        }
        boolean wasRunning = (usbcmd & USBCMD_RS) != 0;
        usbcmd = v;
        if ((v & USBCMD_RS) != 0 && !wasRunning) {
            usbsts &= ~USBSTS_HCHALTED;
            nextFrame = clock.nanos() + FRAME_NANOS;
            frameTimer.modNanos(nextFrame);
        } else if ((v & USBCMD_RS) == 0) {
            usbsts |= USBSTS_HCHALTED;
            frameTimer.cancel();
        }
        // 2.1.1: entering global suspend with a resume already signalled on a port forces the resume
        if ((v & USBCMD_EGSM) != 0 && ((portsc[0] | portsc[1]) & PORTSC_RD) != 0) {
            usbcmd |= USBCMD_FGR;
            usbsts |= USBSTS_RD;
            updateIrq();
        }
    }

    /** 2.1.7: nothing is connected, so CCS stays 0 and the port cannot be enabled; CSC and PEDC clear on 1. */
    private void writePort(int port, int v) {
        int ctrl = portsc[port] & PORTSC_READ_ONLY;
        int value = (ctrl & PORTSC_CCS) == 0 ? v & ~PORTSC_PED : v;
        ctrl |= value & ~PORTSC_READ_ONLY;
        ctrl &= ~(value & PORTSC_WRITE_CLEAR);
        portsc[port] = ctrl & 0xffff;
    }

    /** The frame timer: runs the frames due (a bounded number), reports their interrupts, re-arms. */
    private void frameTick() {
        synchronized (this) {
            if (!frameTimer.claimExpiry()) {
                return;
            }
            if ((usbcmd & USBCMD_RS) == 0) {
                usbsts |= USBSTS_HCHALTED;
                return;
            }
            long now = clock.nanos();
            long due = now >= nextFrame ? (now - nextFrame) / FRAME_NANOS + 1 : 0;
            if (due > maxFrames) {
                long skipped = due - maxFrames;
                nextFrame += skipped * FRAME_NANOS;
                frnum = (int) ((frnum + skipped) & FRNUM_MASK);
                due = maxFrames;
            }
            long run = Math.min(due, MAX_FRAMES_PER_TICK);
            for (long i = 0; i < run && (usbcmd & USBCMD_RS) != 0; i++) {
                runFrame();
                frnum = (frnum + 1) & FRNUM_MASK;
                nextFrame += FRAME_NANOS;
            }
            if ((usbcmd & USBCMD_RS) == 0) {
                usbsts |= USBSTS_HCHALTED;
                updateIrq();
                return;
            }
            frameTimer.modNanos(nextFrame > now ? nextFrame : now + FRAME_NANOS);
        }
    }

    /** One frame of the schedule (not without bus mastering); what it found is reported at the frame's end. */
    private void runFrame() {
        if ((config.get16(PciConfigSpace.COMMAND) & PciConfigSpace.COMMAND_MASTER) == 0) {
            return;
        }
        int found = schedule.runFrame(flbaseadd, frnum);
        if (found == 0) {
            return;
        }
        if ((found & UhciSchedule.HOST_SYSTEM_ERROR) != 0) {
            // 2.1.2: a schedule access the PCI bus master-aborts (no RAM there); Run/Stop clears
            usbsts |= USBSTS_HSE;
            usbcmd &= ~USBCMD_RS;
        }
        if ((found & UhciSchedule.PROCESS_ERROR) != 0) {
            // 2.1.2: a TD that fails the consistency check (its PID); Run/Stop clears
            usbsts |= USBSTS_HCPE;
            usbcmd &= ~USBCMD_RS;
        }
        if ((found & UhciSchedule.RAISE_ERROR) != 0) {
            usbsts |= USBSTS_ERROR;
        }
        if ((found & UhciSchedule.RAISE_IOC) != 0) {
            causes |= CAUSE_IOC;
            usbsts |= USBSTS_USBINT;
        }
        updateIrq();
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Config space, the registers, the pending USBINT causes and, while Run/Stop is set, the guest time to the
     * next frame (re-armed against the restoring machine's clock). The bus re-maps BAR4.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        config.saveState(w);
        w.u64("maxframes", maxFrames).u64("bandwidth", bandwidth);
        w.u16("usbcmd", usbcmd).u16("usbsts", usbsts).u16("usbintr", usbintr).u16("frnum", frnum)
                .u32("flbaseadd", flbaseadd).u8("sofmod", sofmod).u16("portsc1", portsc[0])
                .u16("portsc2", portsc[1]).u8("causes", causes);
        boolean running = (usbcmd & USBCMD_RS) != 0;
        w.u64("next-frame-ns", running ? Math.max(0, Math.min(FRAME_NANOS, nextFrame - clock.nanos())) : 0);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        byte[] cfg = config.readState(r);
        r.expectU64("maxframes", maxFrames);
        r.expectU64("bandwidth", bandwidth);
        int cmd = r.u16("usbcmd");
        int sts = r.u16("usbsts");
        int intr = r.u16("usbintr");
        int fr = r.u16("frnum", FRNUM_MASK);
        int fl = r.u32("flbaseadd");
        if ((fl & 0xfff) != 0) {
            throw r.invalid("flbaseadd", String.format("0x%08x is not 4 KiB aligned", fl));
        }
        int sof = r.u8("sofmod");
        int p1 = r.u16("portsc1");
        int p2 = r.u16("portsc2");
        for (int p : new int[] {p1, p2}) {
            if ((p & (PORTSC_CCS | PORTSC_PED | PORTSC_ALWAYS_1)) != PORTSC_ALWAYS_1) {
                throw r.invalid("portsc", String.format("0x%04x: no device is attached to a port", p));
            }
        }
        int c = r.u8("causes", CAUSE_IOC | CAUSE_SHORT_PACKET);
        boolean running = (cmd & USBCMD_RS) != 0;
        long next = r.u64("next-frame-ns", 0, running ? FRAME_NANOS : 0);
        config.applyState(cfg);
        usbcmd = cmd;
        usbsts = sts;
        usbintr = intr;
        frnum = fr;
        flbaseadd = fl;
        sofmod = sof;
        portsc[0] = p1;
        portsc[1] = p2;
        causes = c;
        if (running) {
            nextFrame = clock.nanos() + next;
            frameTimer.modNanos(nextFrame);
        } else {
            frameTimer.cancel();
        }
        updateIrq();
    }

    /** USBBA: every access is done in words, as QEMU does it. */
    private final class Registers implements IoHandler {
        @Override
        public long read(long offset, int size) {
            synchronized (Piix3Uhci.this) {
                int off = (int) offset;
                if (size == 4) {
                    return (readWord(off) | (long) readWord(off + 2) << 16) & 0xffffffffL;
                }
                return size == 2 ? readWord(off) : readWord(off) & 0xff;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            synchronized (Piix3Uhci.this) {
                int off = (int) offset;
                int v = (int) value;
                if (size == 4) {
                    writeWord(off, v & 0xffff);
                    writeWord(off + 2, v >>> 16);
                } else {
                    writeWord(off, size == 2 ? v & 0xffff : v & 0xff);
                }
            }
        }
    }
}
