package dev.jvmm.devices.usb;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.StateSupport;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static dev.jvmm.devices.usb.Piix3Uhci.*;
import static dev.jvmm.devices.usb.UhciSchedule.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The register model against QEMU 7.2's answers (read through qtest from piix3-usb-uhci at 00:01.2) and the
 * schedule against the design guide, on the test board's guest RAM and PCI bus. Guest time is a counter the
 * test moves, so frame counts are exact; the timer thread picks each move up within a bounded wait.
 */
class Piix3UhciTest {
    private static final int DEVFN = 1 << 3 | 2;
    private static final long FRAME_LIST = 0x100000;
    private static final long QH = 0x101000;
    private static final long TD = 0x101040;
    private static final long SETUP_DATA = 0x101080;

    private final TestBoard board = new TestBoard();
    private final GuestMemory ram = board.memory;
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    private final AtomicLong host = new AtomicLong(1_000_000_000L);
    private final VirtualClock clock = new VirtualClock(host::get, exec);
    private final Piix3Uhci uhci = new Piix3Uhci(ram, clock, 128, 1280, "usb");
    private final IoHandler io = uhci.registers();

    Piix3UhciTest() {
        clock.resume();
        board.pci.add(1, 2, uhci);
    }

    @AfterEach
    void stop() {
        exec.shutdownNow();
        board.close();
    }

    private int cfg(int off, int size) {
        return board.pci.readConfig(0, DEVFN, off, size);
    }

    private void cfgWrite(int off, int size, int v) {
        board.pci.writeConfig(0, DEVFN, off, size, v);
    }

    private int rw(int off) {
        return (int) io.read(off, 2);
    }

    private void ww(int off, int v) {
        io.write(off, 2, v);
    }

    private boolean irq() {
        return (cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_INTERRUPT) != 0;
    }

    private static void await(String what, BooleanSupplier cond) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("not within 10 s: " + what);
            }
            Thread.onSpinWait();
        }
    }

    /** Moves guest time by n frames and waits until FRNUM has followed (or the controller halted). */
    private void frames(int n) {
        int target = (rw(FRNUM) + n) & 0x7ff;
        host.addAndGet(n * FRAME_NANOS);
        await(n + " frames", () -> rw(FRNUM) == target || (rw(USBSTS) & USBSTS_HCHALTED) != 0);
    }

    @Test
    void configSpaceAsQemu() {
        int[] qemu = {0x70208086, 0, 0x0c030001, 0, 0, 0, 0, 0, 1, 0, 0, 0x11001af4, 0, 0, 0, 0x00000400};
        for (int i = 0; i < qemu.length; i++) {
            assertEquals(qemu[i], cfg(i * 4, 4), String.format("dword at 0x%02x", i * 4));
        }
        assertEquals(0x10, cfg(SBRN, 4));
        assertEquals(0x00010000, cfg(0x68, 4));
        assertEquals(0, cfg(LEGSUP, 4));
        assertEquals("USB controller", uhci.description());
        cfgWrite(0x20, 4, -1);
        assertEquals(0xffffffe1, cfg(0x20, 4), "BAR4: 32 bytes of I/O");
        for (int off : new int[] {0x40, SBRN, LEGSUP, PciConfigSpace.INTERRUPT_LINE}) {
            cfgWrite(off, 1, 0xff);
            assertEquals(0xff, cfg(off, 1), "writable as in QEMU: " + off);
        }
        cfgWrite(PciConfigSpace.INTERRUPT_PIN, 1, 0);
        cfgWrite(PciConfigSpace.REVISION_ID, 1, 0xff);
        assertEquals(INTERRUPT_PIN_D, cfg(PciConfigSpace.INTERRUPT_PIN, 1));
        assertEquals(REVISION, cfg(PciConfigSpace.REVISION_ID, 1));
        uhci.reset();
        assertEquals(0, cfg(LEGSUP, 4));
        assertEquals(0x10, cfg(SBRN, 1));
    }

    @Test
    void oddAccessesAsQemu() {
        int[] words = {0, 0x20, 0, 0, 0, 0, 0x40, 0xff7f, 0x80, 0x80, 0xff7f, 0xff7f, 0xff7f, 0xff7f, 0xff7f, 0xff7f};
        for (int i = 0; i < words.length; i++) {
            assertEquals(words[i], rw(i * 2), "word at " + i * 2);
        }
        int[] bytes = {0, 0x7f, 0x20, 0x7f, 0, 0x7f, 0, 0x7f, 0, 0x7f, 0, 0x7f, 0x40, 0x7f, 0x7f, 0x7f,
            0x80, 0x80, 0x80, 0x80, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f};
        for (int i = 0; i < bytes.length; i++) {
            assertEquals(bytes[i], io.read(i, 1), "byte at " + i);
        }
        long[] dwords = {0x200000, 0, 0, 0xff7f0040L, 0x800080, 0xff7fff7fL, 0xff7fff7fL, 0xff7fff7fL};
        for (int i = 0; i < dwords.length; i++) {
            assertEquals(dwords[i], io.read(i * 4, 4), "dword at " + i * 4);
        }
        ww(USBINTR, 0xffff);
        assertEquals(0xffff, rw(USBINTR));
        ww(FRNUM, 0x7ff);
        assertEquals(0x7ff, rw(FRNUM), "written while halted");
        io.write(FLBASEADD, 4, 0x12345678);
        assertEquals(0x12345000L, io.read(FLBASEADD, 4));
        io.write(FLBASEADD + 3, 1, 0x99);
        assertEquals(0x12345000L, io.read(FLBASEADD, 4), "a byte at 0Bh is a word write no register takes");
        io.write(SOFMOD, 1, 0x77);
        io.write(SOFMOD + 1, 1, 0x55);
        assertEquals(0x77, io.read(SOFMOD, 1));
        assertEquals(0x77, rw(SOFMOD));
        io.write(PORTSC1, 4, 0x02000200);
        assertEquals(0x02800280L, io.read(PORTSC1, 4));
        io.write(PORTSC1 + 1, 1, 0x02);
        assertEquals(0x02800080L, io.read(PORTSC1, 4), "a byte at 11h is a word write to PORTSC1");
        ww(USBCMD, USBCMD_HCRESET);
        assertEquals(List.of(0, 0x20, 0, 0x7ff, 0, 0x40, 0x80, 0x80), List.of(rw(USBCMD), rw(USBSTS), rw(USBINTR),
                rw(FRNUM), (int) io.read(FLBASEADD, 4), rw(SOFMOD), rw(PORTSC1), rw(PORTSC2)));
    }

    @Test
    void portsWithNothingConnected() {
        int[][] writes = {{0xffff, 0xfec0}, {PORTSC_PR, 0x0280}, {0, 0x0080}, {PORTSC_SUSP, 0x1080},
            {PORTSC_RD, 0x00c0}, {PORTSC_PED, 0x0080}, {PORTSC_CSC | PORTSC_PEDC, 0x0080}};
        for (int[] w : writes) {
            ww(PORTSC2, w[0]);
            assertEquals(w[1], rw(PORTSC2), String.format("PORTSC2 after writing %04x", w[0]));
        }
        assertEquals(PORTSC_ALWAYS_1, rw(PORTSC1));
    }

    @Test
    void commandAndStatus() {
        ww(USBCMD, 0xffff);
        assertEquals(0, rw(USBCMD), "GRESET resets");
        assertEquals(USBSTS_HCHALTED, rw(USBSTS));
        ww(USBCMD, 0xf9);
        assertEquals(0xf9, rw(USBCMD));
        assertEquals(0, rw(USBSTS), "running");
        assertTrue(uhci.frameTimerArmed());
        ww(FRNUM, 0x123);
        assertEquals(0, rw(FRNUM), "FRNUM is read-only while running");
        ww(USBCMD, 0);
        assertEquals(USBSTS_HCHALTED, rw(USBSTS));
        assertFalse(uhci.frameTimerArmed(), "no timer while halted");
    }

    /** A frame list whose every entry points at one QH whose element is one TD. */
    private void schedule(int ctrl, int token) {
        for (int i = 0; i < FRAME_LIST_ENTRIES; i++) {
            ram.writeInt(FRAME_LIST + 4L * i, (int) QH | LINK_Q);
        }
        ram.writeInt(QH, LINK_T);
        ram.writeInt(QH + 4, (int) TD);
        ram.writeInt(TD, LINK_T);
        ram.writeInt(TD + 4, ctrl);
        ram.writeInt(TD + 8, token);
        ram.writeInt(TD + 12, (int) SETUP_DATA);
        io.write(FLBASEADD, 4, FRAME_LIST);
    }

    private void start(int intr) {
        cfgWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_IO | PciConfigSpace.COMMAND_MASTER);
        ww(USBINTR, intr);
        ww(FRNUM, 0);
        ww(USBCMD, USBCMD_RS | USBCMD_CF | USBCMD_MAXP);
    }

    private static final int SETUP_TO_ADDRESS_0 = 7 << 21 | PID_SETUP;

    @Test
    void setupToAbsentDeviceTimesOutAfterThreeErrors() {
        schedule(3 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC | 0x7ff, SETUP_TO_ADDRESS_0);
        start(USBINTR_TIMEOUT_CRC | USBINTR_IOC);
        frames(1);
        assertEquals(2 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC | TD_CRC_TIMEOUT | 0x7ff, ram.readInt(TD + 4));
        assertEquals(0, rw(USBSTS));
        assertFalse(irq());
        frames(2);
        assertEquals(TD_IOC | TD_CRC_TIMEOUT | 0x7ff, ram.readInt(TD + 4), "retired: counter 0, Active clear");
        assertEquals((int) TD, ram.readInt(QH + 4), "a failed TD does not advance its queue");
        assertEquals(USBSTS_USBINT | USBSTS_ERROR, rw(USBSTS));
        assertTrue(irq(), "INTD# asserted");
        ww(USBCMD, 0);
        assertEquals(USBSTS_USBINT | USBSTS_ERROR | USBSTS_HCHALTED, rw(USBSTS));
        ww(USBSTS, USBSTS_USBINT | USBSTS_ERROR);
        assertEquals(USBSTS_HCHALTED, rw(USBSTS));
        assertFalse(irq());
    }

    @Test
    void interruptFollowsUsbintr() {
        schedule(1 << TD_C_ERR_SHIFT | TD_ACTIVE | 0x7ff, SETUP_TO_ADDRESS_0);
        start(USBINTR_IOC);
        frames(2);
        assertEquals(TD_CRC_TIMEOUT | 0x7ff, ram.readInt(TD + 4));
        assertEquals(USBSTS_ERROR, rw(USBSTS), "no IOC: no USBINT");
        assertFalse(irq(), "time-out/CRC interrupt not enabled");
        ww(USBINTR, USBINTR_TIMEOUT_CRC);
        assertTrue(irq());
    }

    @Test
    void unlimitedErrorsKeepTheTdActive() {
        schedule(TD_ACTIVE | TD_IOC, SETUP_TO_ADDRESS_0);
        start(USBINTR_TIMEOUT_CRC | USBINTR_IOC);
        frames(5);
        assertEquals(TD_ACTIVE | TD_IOC | TD_CRC_TIMEOUT, ram.readInt(TD + 4));
        assertEquals(0, rw(USBSTS));
    }

    @Test
    void invalidPidIsAProcessError() {
        schedule(3 << TD_C_ERR_SHIFT | TD_ACTIVE, 7 << 21 | 0x55);
        start(0);
        host.addAndGet(FRAME_NANOS);
        await("halt", () -> (rw(USBSTS) & USBSTS_HCHALTED) != 0);
        assertEquals(USBSTS_HCPE | USBSTS_HCHALTED, rw(USBSTS));
        assertEquals(USBCMD_CF | USBCMD_MAXP, rw(USBCMD), "Run/Stop cleared");
        assertTrue(irq(), "process errors interrupt whatever USBINTR says");
        assertFalse(uhci.frameTimerArmed());
    }

    @Test
    void scheduleOutsideRamIsAHostSystemError() {
        schedule(TD_ACTIVE, SETUP_TO_ADDRESS_0);
        ram.writeInt(QH + 4, 0xfff00000);
        start(0);
        host.addAndGet(FRAME_NANOS);
        await("halt", () -> (rw(USBSTS) & USBSTS_HCHALTED) != 0);
        assertEquals(USBSTS_HSE | USBSTS_HCHALTED, rw(USBSTS));
        assertTrue(irq());
        ww(USBSTS, USBSTS_HSE);
        assertFalse(irq());
        io.write(FLBASEADD, 4, 0xfffff000L);
        ww(USBCMD, USBCMD_RS);
        host.addAndGet(FRAME_NANOS);
        await("halt", () -> (rw(USBSTS) & USBSTS_HCHALTED) != 0);
        assertEquals(USBSTS_HSE | USBSTS_HCHALTED, rw(USBSTS), "frame list itself outside RAM");
    }

    @Test
    void loopsCostBoundedWork() {
        schedule(TD_ACTIVE, SETUP_TO_ADDRESS_0);
        ram.writeInt(QH, (int) QH | LINK_Q);
        ram.writeInt(QH + 4, LINK_T);
        start(0);
        frames(3);
        ram.writeInt(QH + 4, (int) TD);
        ram.writeInt(TD, (int) TD | LINK_VF);
        frames(3);
        assertEquals(6, rw(FRNUM), "frames go on");
        assertEquals(0, rw(USBSTS) & ~USBSTS_HCHALTED);
    }

    @Test
    void noScheduleWithoutBusMastering() {
        schedule(1 << TD_C_ERR_SHIFT | TD_ACTIVE, SETUP_TO_ADDRESS_0);
        start(0);
        cfgWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_IO);
        frames(2);
        assertEquals(1 << TD_C_ERR_SHIFT | TD_ACTIVE, ram.readInt(TD + 4));
    }

    @Test
    void pausedClockRunsNoFrames() {
        schedule(TD_ACTIVE, SETUP_TO_ADDRESS_0);
        start(0);
        frames(2);
        clock.pause();
        host.addAndGet(50 * FRAME_NANOS);
        assertEquals(2, rw(FRNUM));
        clock.resume();
        frames(1);
        assertEquals(3, rw(FRNUM));
    }

    @Test
    void lateTimerSkipsBeyondMaxframes() {
        schedule(TD_ACTIVE, SETUP_TO_ADDRESS_0);
        start(0);
        host.addAndGet(1000 * FRAME_NANOS);
        await("the frames past maxframes skipped", () -> rw(FRNUM) >= 1000 - 128);
        // the rest, MAX_FRAMES_PER_TICK a tick, one tick a millisecond of guest time
        for (int i = 0; i < 16; i++) {
            host.addAndGet(FRAME_NANOS);
            int least = Math.min(1000 - 128 + (i + 1) * MAX_FRAMES_PER_TICK, 1000 + i + 1);
            await("catching up", () -> rw(FRNUM) >= least);
        }
        assertEquals(1016, rw(FRNUM));
        assertEquals(TD_ACTIVE | TD_CRC_TIMEOUT, ram.readInt(TD + 4));
    }

    @Test
    void stateRoundTrip() throws Exception {
        schedule(3 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC, SETUP_TO_ADDRESS_0);
        start(USBINTR_TIMEOUT_CRC);
        ww(PORTSC1, PORTSC_SUSP);
        frames(1);
        ww(SOFMOD, 0x33);
        cfgWrite(LEGSUP, 2, 0x2000);
        Piix3Uhci other = new Piix3Uhci(ram, clock, 128, 1280, "usb");
        StateSupport.copy(uhci, other);
        List<Long> a = new ArrayList<>();
        List<Long> b = new ArrayList<>();
        for (int off = 0; off < USBBA_SIZE; off += 2) {
            a.add(io.read(off, 2));
            b.add(other.registers().read(off, 2));
        }
        assertEquals(a, b);
        assertEquals(0x2000, other.readConfig(LEGSUP, 2));
        assertTrue(other.frameTimerArmed(), "running: the frame timer is re-armed");
        String refusal = StateSupport.refusal(new Piix3Uhci(ram, clock, 64, 1280, "usb"), StateSupport.save(uhci));
        assertTrue(refusal.contains("maxframes"), refusal);
    }

    @Test
    void createdAsLibvirtWritesIt() {
        try (TestBoard b = new TestBoard()) {
            b.ide();
            b.add("piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2");
            assertEquals(0x70208086, b.pci.readConfig(0, DEVFN, 0, 4));
            assertEquals("usb.0", b.model.bus("usb.0").orElseThrow().name());
            assertEquals("usb-bus", b.model.bus("usb.0").orElseThrow().type());
            b.add("piix3-usb-uhci");
            b.add("piix3-usb-uhci,maxframes=4,bandwidth=0");
            assertTrue(b.model.bus("usb-bus.0").isPresent(), "anonymous controllers count their buses");
            assertTrue(b.model.bus("usb-bus.1").isPresent());
            assertEquals("PCI: slot 1 function 2 not available for piix3-usb-uhci, in use by piix3-usb-uhci,id=usb",
                    b.refusal("piix3-usb-uhci,addr=01.2"));
        }
    }
}
