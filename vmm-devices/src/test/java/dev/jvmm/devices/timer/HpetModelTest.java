package dev.jvmm.devices.timer;

import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The "hpet" type in the device model: refused on -device as QEMU does, made by the board with its settings. */
class HpetModelTest {
    @Test
    void deviceOptionRefusesIt() {
        try (TestBoard board = new TestBoard()) {
            assertTrue(board.refusal("hpet").endsWith("Parameter 'driver' expects a pluggable device type"),
                    board.refusal("hpet"));
        }
    }

    @Test
    void boardMakesItWithPcDefaultsOrItsProperties() {
        try (TestBoard board = new TestBoard()) {
            Hpet pc = Realized.device(board.model.addUnattached("hpet", Map.of()).instance(), Hpet.class);
            assertEquals(0x4_0000_0030L, pc.read(Hpet.TIMER_BLOCK, 8));
            assertEquals(0x8086a201, pc.eventTimerBlockId());
            Hpet q35 = Realized.device(board.model.addUnattached("hpet",
                    Map.of("hpet-intcap", "0xff0104", "timers", "4", "msi", "on")).instance(), Hpet.class);
            assertEquals(0xff0104L << 32 | 0x8030, q35.read(Hpet.TIMER_BLOCK, 8));
            assertEquals(0x8086a301, q35.eventTimerBlockId());
            pc.close();
            q35.close();
        }
    }
}
