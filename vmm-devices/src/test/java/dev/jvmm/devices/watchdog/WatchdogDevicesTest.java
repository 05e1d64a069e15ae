package dev.jvmm.devices.watchdog;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -device i6300esb and ib700 through the device model (no KVM needed): placement and QOM view, expiry
 * reaching the machine's watchdog action (WATCHDOG, "debug"'s line), the ISA one reset with the machine,
 * the second ib700, and QEMU's refusals.
 */
class WatchdogDevicesTest {
    private static final long WAIT_NANOS = 5_000_000_000L;

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + WAIT_NANOS;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void i6300esbOnPci() throws Exception {
        try (TestBoard board = new TestBoard()) {
            board.add("i6300esb");
            board.add("i6300esb,id=wd,addr=7");
            assertInstanceOf(I6300Esb.class, board.pci.function(2, 0), "the first free slot");
            I6300Esb esb = (I6300Esb) board.pci.function(7, 0);
            assertEquals("wd", esb.qdevId());
            QomNode node = board.node("/machine/peripheral/wd");
            assertEquals(56L, node.get("addr"));
            assertEquals("07.0", node.get("legacy-addr"));
            assertEquals(true, node.get("hotpluggable"));
            assertEquals(16L, board.node("/machine/peripheral-anon/device[0]").get("addr"));
        }
    }

    /** ib700 at its shortest period (bits 3:0 = 15: no time at all) with -watchdog-action debug. */
    @Test
    void expiryRunsTheWatchdogAction() throws Exception {
        ActionSettings debug = ActionSettings.defaults().withWatchdog(ActionSettings.WatchdogAction.DEBUG);
        try (TestBoard board = TestBoard.builder().actions(debug).build()) {
            board.add("ib700");
            board.pio.write(Ib700.ENABLE_PORT, 1, 0x0f);
            await(() -> !board.published.isEmpty(), "WATCHDOG");
            board.lifecycle.drainMainLoop();
            assertEquals(List.of(new VmEvent.Watchdog("debug")), board.published);
            await(() -> board.errText().contains("watchdog: timer fired"), "debug's line");
        }
        try (TestBoard board = new TestBoard()) {
            board.add("ib700");
            board.pio.write(Ib700.ENABLE_PORT, 1, 0x0f);
            await(() -> board.vcpuRequests.contains("reset"), "the default action, reset");
            assertEquals(new VmEvent.Watchdog("reset"), board.published.get(0));
        }
    }

    /** QEMU accepts a second ib700 on the same ports, where the first decodes; the machine's reset disarms. */
    @Test
    void ib700ResetAndSecondDevice() {
        try (TestBoard board = new TestBoard()) {
            board.add("ib700");
            board.add("ib700,id=second");
            assertEquals(2, board.model.devices().size());
            board.pio.write(Ib700.ENABLE_PORT, 1, 0);
            board.model.resetAll();
            // re-armed at 30 s and then reset: nothing may fire; the port still decodes after the reset
            board.pio.write(Ib700.DISABLE_PORT, 1, 0);
            assertFalse(board.published.stream().anyMatch(e -> e instanceof VmEvent.Watchdog));
            assertEquals(0xff, board.pio.read(Ib700.ENABLE_PORT, 1));
            assertEquals(List.of(), board.acpi, "no ACPI description, as in QEMU");
        }
    }

    @Test
    void refusalsAsQemu() {
        try (TestBoard board = new TestBoard()) {
            assertEquals("Property 'i6300esb.foo' not found", board.refusal("i6300esb,foo=1"));
            assertEquals("Property 'i6300esb.addr' doesn't take value 'zz'", board.refusal("i6300esb,addr=zz"));
            assertEquals("Bus 'pci.1' not found", board.refusal("i6300esb,bus=pci.1"));
            assertEquals("Property 'i6300esb.legacy-addr' is not writable", board.refusal("i6300esb,legacy-addr=3"));
            assertEquals("Property 'ib700.foo' not found", board.refusal("ib700,foo=1"));
            assertEquals("Device 'ib700' can't go on PCI bus", board.refusal("ib700,bus=pci.0"));
            assertEquals("Device 'i6300esb' can't go on ISA bus", board.refusal("i6300esb,bus=isa.0"));
            assertTrue(board.model.devices().isEmpty());
        }
    }
}
