package dev.jvmm.devices.isa;

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
import dev.jvmm.devices.ResetRequest;
import dev.jvmm.devices.acpi.AcpiIsaDevice;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.Realized;

/**
 * Intel 8042 keyboard controller as on the IBM PC/AT (ports 0x60 data, 0x64 status/command), reduced to
 * what firmware-less guests probe and the reset paths, following QEMU 7.2's hw/input/pckbd.c: controller
 * command byte, self and interface tests, output port read/write (bit 0 clear resets), pulse-output
 * commands 0xF0-0xFF (bit 0 clear pulses reset), A20 commands, and a minimal PS/2 keyboard that answers
 * the usual probe commands. There are no key events. Unknown commands are ignored, as QEMU does.
 */
public final class I8042 implements IoHandler, Saveable {
    /**
     * QEMU's i8042 (hw/input/pckbd.c). The board makes the one at 0x60/0x64 (unless -machine i8042=off);
     * its interrupt lines and PS/2 devices take their defaults.
     */
    public static final TypeInfo TYPE = TypeInfo.type("i8042", "isa-device").category("Input")
            .implementing("acpi-dev-aml-interface")
            .props(Property.fixed("kbd-irq", PropType.UINT8, 1L),
                    Property.fixed("mouse-irq", PropType.UINT8, 12L),
                    // migration only
                    Property.of("extended-state", PropType.BOOL, true),
                    Property.fixed("kbd-throttle", PropType.BOOL, false),
                    Property.object("a20[0]", PropType.link("irq")),
                    Property.object("ps2kbd", PropType.child("ps2-kbd")),
                    Property.object("ps2-mouse-input-irq[0]", PropType.child("irq")),
                    Property.object("i8042-cmd[0]", PropType.child("memory-region")),
                    Property.object("unnamed-gpio-out[0]", PropType.link("irq")),
                    Property.object("unnamed-gpio-out[1]", PropType.link("irq")),
                    Property.object("i8042-data[0]", PropType.child("memory-region")),
                    Property.object("ps2-kbd-input-irq[0]", PropType.child("irq")),
                    Property.object("ps2mouse", PropType.child("ps2-mouse")))
            .build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, (ctx, p, where) -> {
        if (!where.byBoard()) {
            throw new PropertyException("jvmm's pc board has its own i8042 (-machine i8042=on); -device i8042 is"
                    + " not supported");
        }
        I8042 kbd = new I8042(ctx.lifecycle()::requestGuestReset);
        kbd.attach(ctx.pio());
        ctx.describeIsa(AcpiIsaDevice.i8042());
        return new Realized<>(kbd, kbd::reset, () -> { });
    });

    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    public static final int KEYBOARD_IRQ = 1;
    public static final int MOUSE_IRQ = 12;

    // Status register bits.
    static final int STAT_OBF = 0x01;
    static final int STAT_IBF = 0x02;
    static final int STAT_SELFTEST = 0x04;
    static final int STAT_CMD = 0x08;
    static final int STAT_UNLOCKED = 0x10;
    static final int STAT_MOUSE_OBF = 0x20;

    // Controller command byte ("mode") bits.
    static final int MODE_KBD_INT = 0x01;
    static final int MODE_MOUSE_INT = 0x02;
    static final int MODE_SYS = 0x04;
    static final int MODE_DISABLE_KBD = 0x10;
    static final int MODE_DISABLE_MOUSE = 0x20;
    static final int MODE_KCC = 0x40;

    // Output port bits.
    static final int OUT_RESET = 0x01;
    static final int OUT_A20 = 0x02;
    static final int OUT_ONES = 0xcc;

    // Controller commands (port 0x64).
    static final int CCMD_READ_MODE = 0x20;
    static final int CCMD_WRITE_MODE = 0x60;
    static final int CCMD_MOUSE_DISABLE = 0xa7;
    static final int CCMD_MOUSE_ENABLE = 0xa8;
    static final int CCMD_TEST_MOUSE = 0xa9;
    static final int CCMD_SELF_TEST = 0xaa;
    static final int CCMD_KBD_TEST = 0xab;
    static final int CCMD_KBD_DISABLE = 0xad;
    static final int CCMD_KBD_ENABLE = 0xae;
    static final int CCMD_READ_INPORT = 0xc0;
    static final int CCMD_READ_OUTPORT = 0xd0;
    static final int CCMD_WRITE_OUTPORT = 0xd1;
    static final int CCMD_WRITE_OBUF = 0xd2;
    static final int CCMD_WRITE_AUX_OBUF = 0xd3;
    static final int CCMD_WRITE_MOUSE = 0xd4;
    static final int CCMD_ENABLE_A20 = 0xdf;
    static final int CCMD_DISABLE_A20 = 0xdd;
    static final int CCMD_PULSE_MASK = 0xf0;
    static final int CCMD_RESET = 0xfe;

    // PS/2 keyboard commands and replies.
    static final int KBD_CMD_SET_LEDS = 0xed;
    static final int KBD_CMD_ECHO = 0xee;
    static final int KBD_CMD_SCANCODE = 0xf0;
    static final int KBD_CMD_GET_ID = 0xf2;
    static final int KBD_CMD_SET_RATE = 0xf3;
    static final int KBD_CMD_ENABLE = 0xf4;
    static final int KBD_CMD_RESET_DISABLE = 0xf5;
    static final int KBD_CMD_RESET_ENABLE = 0xf6;
    static final int KBD_CMD_RESET = 0xff;
    static final int KBD_REPLY_POR = 0xaa;
    static final int KBD_REPLY_ID = 0xab;
    static final int KBD_REPLY_ACK = 0xfa;
    static final int KBD_REPLY_RESEND = 0xfe;

    private static final int QUEUE_SIZE = 16;
    /** Set numbers 0-3 as the translating controller reports them (the 8042 set-2 to set-1 table). */
    private static final int[] SET_TRANSLATED = {0xff, 0x43, 0x41, 0x3f};

    private final ResetRequest reset;
    private final IrqLine kbdIrq;
    private final IrqLine mouseIrq;

    private int status;
    private int mode;
    private int outport;
    private int pendingCommand;     // controller command awaiting a data byte on 0x60
    private int kbdPendingCommand;  // PS/2 keyboard command awaiting its argument
    private int scancodeSet = 2;
    private int lastData;

    // Output queue; each entry is a byte plus a flag for "from the aux (mouse) port".
    private final int[] queue = new int[QUEUE_SIZE];
    private int qHead;
    private int qCount;
    private boolean kbdIrqLevel;
    private boolean mouseIrqLevel;

    public I8042(ResetRequest reset, IrqLine kbdIrq, IrqLine mouseIrq) {
        this.reset = reset == null ? ResetRequest.NONE : reset;
        this.kbdIrq = kbdIrq == null ? IrqLine.NONE : kbdIrq;
        this.mouseIrq = mouseIrq == null ? IrqLine.NONE : mouseIrq;
        reset();
    }

    public I8042(ResetRequest reset) {
        this(reset, IrqLine.NONE, IrqLine.NONE);
    }

    /** Registers ports 0x60 and 0x64 (one port each, as on the PC). */
    public void attach(PioBus bus) {
        bus.register(DATA_PORT, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return readData();
            }

            @Override
            public void write(long offset, int size, long value) {
                writeData(value);
            }
        });
        bus.register(COMMAND_PORT, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return readStatus();
            }

            @Override
            public void write(long offset, int size, long value) {
                writeCommand(value);
            }
        });
    }

    /** Machine reset: power-on values. */
    public synchronized void reset() {
        mode = MODE_KBD_INT | MODE_MOUSE_INT;
        status = STAT_CMD | STAT_UNLOCKED;
        outport = OUT_RESET | OUT_A20 | OUT_ONES;
        pendingCommand = 0;
        kbdPendingCommand = 0;
        scancodeSet = 2;
        qHead = 0;
        qCount = 0;
        updateIrq();
    }

    /** Offsets: 0 is the data port (0x60), 4 the status/command port (0x64), for a 5-port registration. */
    @Override
    public long read(long offset, int size) {
        if (offset == 0) {
            return readData();
        }
        if (offset == 4) {
            return readStatus();
        }
        return 0xff;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == 0) {
            writeData(value);
        } else if (offset == 4) {
            writeCommand(value);
        }
    }

    synchronized int readStatus() {
        return status;
    }

    /** Reading data takes the next queued byte; with nothing queued the last byte is read again. */
    synchronized int readData() {
        if (qCount > 0) {
            lastData = queue[qHead] & 0xff;
            qHead = (qHead + 1) % QUEUE_SIZE;
            qCount--;
            // Each byte is its own edge: drop the line before raising it for the next byte, as QEMU does.
            if (kbdIrqLevel) {
                kbdIrqLevel = false;
                kbdIrq.setLevel(false);
            }
            if (mouseIrqLevel) {
                mouseIrqLevel = false;
                mouseIrq.setLevel(false);
            }
            updateIrq();
        }
        return lastData;
    }

    void writeCommand(long value) {
        boolean doReset = false;
        synchronized (this) {
            int cmd = (int) value & 0xff;
            if ((cmd & CCMD_PULSE_MASK) == CCMD_PULSE_MASK) {
                // Pulse output lines for 6 us; bit 0 clear pulses the reset line.
                cmd = (cmd & 1) == 0 ? CCMD_RESET : -1;
            }
            switch (cmd) {
                case CCMD_READ_MODE -> enqueue(mode, false);
                case CCMD_WRITE_MODE, CCMD_WRITE_OUTPORT, CCMD_WRITE_OBUF, CCMD_WRITE_AUX_OBUF, CCMD_WRITE_MOUSE ->
                        pendingCommand = cmd;
                case CCMD_MOUSE_DISABLE -> mode |= MODE_DISABLE_MOUSE;
                case CCMD_MOUSE_ENABLE -> mode &= ~MODE_DISABLE_MOUSE;
                case CCMD_TEST_MOUSE, CCMD_KBD_TEST -> enqueue(0x00, false);
                case CCMD_SELF_TEST -> {
                    status |= STAT_SELFTEST;
                    enqueue(0x55, false);
                }
                case CCMD_KBD_DISABLE -> mode |= MODE_DISABLE_KBD;
                case CCMD_KBD_ENABLE -> mode &= ~MODE_DISABLE_KBD;
                case CCMD_READ_INPORT -> enqueue(0x80, false);
                case CCMD_READ_OUTPORT -> enqueue(outport, false);
                case CCMD_ENABLE_A20 -> outport |= OUT_A20;
                case CCMD_DISABLE_A20 -> outport &= ~OUT_A20;
                case CCMD_RESET -> doReset = true;
                default -> {
                    // Unsupported or no-op command: ignored (QEMU logs it as a guest error).
                }
            }
            updateIrq();
        }
        if (doReset) {
            reset.requestReset();
        }
    }

    void writeData(long value) {
        boolean doReset = false;
        synchronized (this) {
            int val = (int) value & 0xff;
            switch (pendingCommand) {
                case CCMD_WRITE_MODE -> mode = val;
                case CCMD_WRITE_OUTPORT -> {
                    outport = val;
                    doReset = (val & OUT_RESET) == 0;
                }
                case CCMD_WRITE_OBUF -> enqueue(val, false);
                case CCMD_WRITE_AUX_OBUF -> enqueue(val, true);
                case CCMD_WRITE_MOUSE -> enqueue(KBD_REPLY_ACK, true); // no mouse: acknowledge and forget
                default -> keyboardWrite(val);
            }
            pendingCommand = 0;
            updateIrq();
        }
        if (doReset) {
            reset.requestReset();
        }
    }

    /** The PS/2 keyboard behind the controller; answers probes the way QEMU's hw/input/ps2.c does. */
    private void keyboardWrite(int val) {
        if (kbdPendingCommand != 0) {
            int cmd = kbdPendingCommand;
            kbdPendingCommand = 0;
            if (cmd == KBD_CMD_SCANCODE && val == 0) {
                enqueue(KBD_REPLY_ACK, false);
                enqueue(translating() ? SET_TRANSLATED[scancodeSet] : scancodeSet, false);
                return;
            }
            if (cmd == KBD_CMD_SCANCODE && val >= 1 && val <= 3) {
                scancodeSet = val;
            }
            enqueue(KBD_REPLY_ACK, false);
            return;
        }
        switch (val) {
            case KBD_CMD_SET_LEDS, KBD_CMD_SCANCODE, KBD_CMD_SET_RATE -> {
                kbdPendingCommand = val;
                enqueue(KBD_REPLY_ACK, false);
            }
            case KBD_CMD_ECHO -> enqueue(KBD_CMD_ECHO, false);
            case KBD_CMD_GET_ID -> {
                enqueue(KBD_REPLY_ACK, false);
                enqueue(KBD_REPLY_ID, false);
                enqueue(translating() ? 0x41 : 0x83, false);
            }
            case KBD_CMD_ENABLE, KBD_CMD_RESET_DISABLE, KBD_CMD_RESET_ENABLE, 0x00 -> enqueue(KBD_REPLY_ACK, false);
            case KBD_CMD_RESET -> {
                scancodeSet = 2;
                enqueue(KBD_REPLY_ACK, false);
                enqueue(KBD_REPLY_POR, false);
            }
            default -> enqueue(KBD_REPLY_RESEND, false);
        }
    }

    /** With KCC set the controller translates set-2 codes to set 1, replies included (as QEMU's ps2.c). */
    private boolean translating() {
        return (mode & MODE_KCC) != 0;
    }

    private void enqueue(int b, boolean aux) {
        if (qCount == QUEUE_SIZE) {
            return; // the controller's buffer is full; further bytes are dropped as in QEMU's ps2 queue
        }
        queue[(qHead + qCount) % QUEUE_SIZE] = (b & 0xff) | (aux ? 0x100 : 0);
        qCount++;
    }

    private void updateIrq() {
        boolean kbd = false;
        boolean mouse = false;
        status &= ~(STAT_OBF | STAT_MOUSE_OBF);
        if (qCount > 0) {
            status |= STAT_OBF;
            boolean aux = (queue[qHead] & 0x100) != 0;
            if (aux) {
                status |= STAT_MOUSE_OBF;
                mouse = (mode & MODE_MOUSE_INT) != 0;
            } else {
                kbd = (mode & MODE_KBD_INT) != 0;
            }
        }
        if (kbd != kbdIrqLevel) {
            kbdIrqLevel = kbd;
            kbdIrq.setLevel(kbd);
        }
        if (mouse != mouseIrqLevel) {
            mouseIrqLevel = mouse;
            mouseIrq.setLevel(mouse);
        }
    }

    /** The output port's A20 bit (informational; A20 is always on under KVM). */
    public synchronized boolean a20() {
        return (outport & OUT_A20) != 0;
    }

    @Override
    public int stateVersion() {
        return 1;
    }

    /**
     * Registers, the half-done controller and keyboard commands, the scancode set, the last byte read and
     * the output queue in order (a byte plus its aux flag each). The IRQ levels follow from the queue.
     */
    @Override
    public synchronized void saveState(StateWriter w) {
        w.u8("status", status).u8("mode", mode).u8("outport", outport).u8("pending-command", pendingCommand)
                .u8("kbd-pending-command", kbdPendingCommand).u8("scancode-set", scancodeSet)
                .u8("last-data", lastData);
        byte[] bytes = new byte[qCount];
        byte[] aux = new byte[qCount];
        for (int i = 0; i < qCount; i++) {
            int e = queue[(qHead + i) % QUEUE_SIZE];
            bytes[i] = (byte) e;
            aux[i] = (byte) (e >>> 8);
        }
        w.bytes("queue", bytes).bytes("queue-aux", aux);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        int st = r.u8("status");
        int md = r.u8("mode");
        int out = r.u8("outport");
        int pending = r.u8("pending-command");
        if (pending != 0 && pending != CCMD_WRITE_MODE && pending != CCMD_WRITE_OUTPORT && pending != CCMD_WRITE_OBUF
                && pending != CCMD_WRITE_AUX_OBUF && pending != CCMD_WRITE_MOUSE) {
            throw r.invalid("pending-command", String.format("0x%02x takes no data byte", pending));
        }
        int kbdPending = r.u8("kbd-pending-command");
        if (kbdPending != 0 && kbdPending != KBD_CMD_SET_LEDS && kbdPending != KBD_CMD_SCANCODE
                && kbdPending != KBD_CMD_SET_RATE) {
            throw r.invalid("kbd-pending-command", String.format("0x%02x takes no argument", kbdPending));
        }
        int set = r.u8("scancode-set", 3);
        if (set < 1) {
            throw r.invalid("scancode-set", "0 is not a scancode set (1-3)");
        }
        int last = r.u8("last-data");
        byte[] bytes = r.bytes("queue");
        if (bytes.length > QUEUE_SIZE) {
            throw r.invalid("queue", bytes.length + " bytes, the queue holds " + QUEUE_SIZE);
        }
        byte[] aux = r.bytes("queue-aux");
        if (aux.length != bytes.length) {
            throw r.invalid("queue-aux", aux.length + " flags for " + bytes.length + " queued bytes");
        }
        for (byte a : aux) {
            if (a != 0 && a != 1) {
                throw r.invalid("queue-aux", "flags are 0 or 1, found " + a);
            }
        }
        status = st;
        mode = md;
        outport = out;
        pendingCommand = pending;
        kbdPendingCommand = kbdPending;
        scancodeSet = set;
        lastData = last;
        qHead = 0;
        qCount = bytes.length;
        for (int i = 0; i < qCount; i++) {
            queue[i] = (bytes[i] & 0xff) | (aux[i] << 8);
        }
        updateIrq();
    }
}
