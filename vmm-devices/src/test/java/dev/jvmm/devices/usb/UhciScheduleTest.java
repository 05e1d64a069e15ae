package dev.jvmm.devices.usb;

import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jvmm.devices.usb.UhciSchedule.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** One frame's walk on a small guest RAM: design guide chapter 3 with nothing attached, and its bounds. */
class UhciScheduleTest {
    private static final int FL = 0x10000;
    private static final int QH_A = 0x11000;
    private static final int QH_B = 0x11010;
    private static final int TD_A = 0x11040;
    private static final int TD_B = 0x11060;
    private static final int SETUP = 7 << 21 | PID_SETUP;

    private final GuestMemory ram = GuestMemory.allocate(List.of(new RamRange(0, 1 << 20)));
    private final UhciSchedule schedule = new UhciSchedule(ram);

    @AfterEach
    void close() {
        ram.close();
    }

    private void td(int at, int link, int ctrl, int token) {
        ram.writeInt(at + TD_LINK, link);
        ram.writeInt(at + TD_CONTROL_STATUS, ctrl);
        ram.writeInt(at + TD_TOKEN, token);
    }

    private void qh(int at, int link, int element) {
        ram.writeInt(at + QH_LINK, link);
        ram.writeInt(at + QH_ELEMENT, element);
    }

    @Test
    void errorCounterCountsDownThenRetires() {
        assertEquals(2 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_CRC_TIMEOUT, noHandshake(3 << TD_C_ERR_SHIFT | TD_ACTIVE));
        assertEquals(TD_CRC_TIMEOUT | TD_IOC, noHandshake(1 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC));
        assertEquals(TD_ACTIVE | TD_CRC_TIMEOUT, noHandshake(TD_ACTIVE), "0: no error limit");
    }

    @Test
    void tdChainOutsideQueues() {
        ram.writeInt(FL, TD_A);
        td(TD_A, TD_B, 1 << TD_C_ERR_SHIFT | TD_ACTIVE, SETUP);
        td(TD_B, LINK_T, 2 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_IOC, SETUP);
        assertEquals(RAISE_ERROR, schedule.runFrame(FL, 0), "first TD retired, second counted");
        assertEquals(TD_CRC_TIMEOUT, ram.readInt(TD_A + TD_CONTROL_STATUS));
        assertEquals(RAISE_ERROR | RAISE_IOC, schedule.runFrame(FL, 0));
        assertEquals(TD_CRC_TIMEOUT | TD_IOC, ram.readInt(TD_B + TD_CONTROL_STATUS));
        assertEquals(RAISE_IOC, schedule.runFrame(FL, 0), "an inactive IOC TD still interrupts");
    }

    @Test
    void failedQueueElementLeavesForTheNextQueue() {
        ram.writeInt(FL + 4 * 5, QH_A | LINK_Q);
        qh(QH_A, QH_B | LINK_Q, TD_A);
        qh(QH_B, LINK_T, TD_B);
        td(TD_A, TD_B | LINK_VF, 3 << TD_C_ERR_SHIFT | TD_ACTIVE, SETUP);
        td(TD_B, LINK_T, 3 << TD_C_ERR_SHIFT | TD_ACTIVE, SETUP);
        assertEquals(0, schedule.runFrame(FL, 0x405), "frame 0x405 uses entry 5");
        assertEquals(2 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_CRC_TIMEOUT, ram.readInt(TD_A + TD_CONTROL_STATUS));
        assertEquals(2 << TD_C_ERR_SHIFT | TD_ACTIVE | TD_CRC_TIMEOUT, ram.readInt(TD_B + TD_CONTROL_STATUS),
                "reached through QH B, not through TD A's depth-first link");
        assertEquals(TD_A, ram.readInt(QH_A + QH_ELEMENT));
    }

    @Test
    void reclamationLoopRetriesWithinTheFrameThenStops() {
        ram.writeInt(FL, QH_A | LINK_Q);
        qh(QH_A, QH_A | LINK_Q, TD_A);
        td(TD_A, LINK_T, 3 << TD_C_ERR_SHIFT | TD_ACTIVE, SETUP);
        assertEquals(RAISE_ERROR, schedule.runFrame(FL, 0), "three rounds of the loop, then nothing left to try");
        assertEquals(TD_CRC_TIMEOUT, ram.readInt(TD_A + TD_CONTROL_STATUS));
        assertEquals(0, schedule.runFrame(FL, 1));
    }

    @Test
    void garbage() {
        ram.writeInt(FL, TD_A);
        td(TD_A, TD_A, TD_ACTIVE, SETUP);
        assertEquals(0, schedule.runFrame(FL, 0), "a TD linked to itself: bounded, never retired");
        td(TD_A, LINK_T, TD_ACTIVE, 0x12);
        assertEquals(PROCESS_ERROR, schedule.runFrame(FL, 0));
        ram.writeInt(FL, 0xfffffff0 | LINK_Q);
        assertEquals(HOST_SYSTEM_ERROR, schedule.runFrame(FL, 0));
        ram.writeInt(FL, QH_A | LINK_Q);
        qh(QH_A, LINK_T, 0x7ffffff0);
        assertEquals(HOST_SYSTEM_ERROR, schedule.runFrame(FL, 0));
        assertEquals(HOST_SYSTEM_ERROR, schedule.runFrame(0xfff00000, 0), "the frame list itself");
        ram.writeInt(FL, LINK_T);
        assertEquals(0, schedule.runFrame(FL, 0));
    }
}
