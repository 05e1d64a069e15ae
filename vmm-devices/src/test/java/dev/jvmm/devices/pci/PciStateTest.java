package dev.jvmm.devices.pci;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.devices.StateSupport;
import dev.jvmm.devices.watchdog.I6300Esb;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bus 0 saved with moved BARs, changed PIRQ routes and an asserted INTx, restored into a fresh machine. */
class PciStateTest {
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    private final VirtualClock clock = new VirtualClock(System::nanoTime, exec);

    /** A function with an I/O BAR and INTA whose state is its config space, loaded after the bus. */
    static final class Nic extends PciMachineFixture.TestFunction implements Saveable {
        Nic() {
            super(0x1000, 0x020000, 1, new PciBar(0, PciBar.Kind.IO, 0x20, false, PciMachineFixture.tag(0x100)));
        }

        @Override
        public int stateVersion() {
            return 1;
        }

        @Override
        public void saveState(dev.jvmm.core.vmstate.StateWriter w) {
            config.saveState(w);
        }

        @Override
        public void loadState(dev.jvmm.core.vmstate.StateReader r) throws StateException {
            config.loadState(r);
        }
    }

    /** The fixture's bus plus a watchdog (memory BAR) at 00:04.0 and an INTA function at 00:03.0. */
    final class Machine {
        final PciMachineFixture f = new PciMachineFixture();
        final I6300Esb esb = new I6300Esb(clock, () -> { }, s -> { }, "wd");
        final Nic nic = new Nic();

        Machine() {
            f.bus.add(3, 0, nic);
            f.bus.add(4, 0, esb);
        }

        List<Saveable> parts() {
            return List.of(f.bus, f.host, f.i440fx, f.piix3, esb, nic);
        }

        String observe() {
            return String.format("cf8=%08x cfc=%08x pam0=%02x smram=%02x pirq=%08x rcr=%x irq11=%b irq10=%b"
                            + " esb=%x nic=%x cmd=%04x", f.host.configAddress(),
                    (int) f.pio.read(0xcfc, 4), f.i440fx.pam(0), f.i440fx.smram(), f.read(1, 0, 0x60, 4),
                    f.piix3.rcr(), f.irqLevel[11], f.irqLevel[10], f.bus.mappedAddress(4, 0, 0),
                    f.bus.mappedAddress(3, 0, 0), f.read(3, 0, 4, 2) | f.read(3, 0, 6, 2) << 16);
        }
    }

    @Test
    void barsRoutesAndInterruptsComeBack() throws StateException {
        Machine a = new Machine();
        Machine b = new Machine();
        a.f.write(1, 0, 0x60, 4, 0x800b0a80);      // PIRQB -> 10, PIRQC -> 11
        a.f.write(4, 0, 0x10, 4, 0xfebf1000);
        a.f.write(4, 0, 4, 2, PciConfigSpace.COMMAND_MEMORY);
        a.f.write(3, 0, 0x10, 4, 0xc040);
        a.f.write(3, 0, 4, 2, PciConfigSpace.COMMAND_IO);
        a.f.write(0, 0, I440fxHostBridge.PAM0, 1, 0x30);
        a.f.pio.write(Piix3IsaBridge.RCR_PORT, 1, Piix3IsaBridge.RCR_SRST);
        a.nic.intx.setLevel(true);                   // slot 3 INTA is PIRQC: IRQ 11
        a.f.pio.write(0xcf8, 4, PciMachineFixture.address(4, 0, 0x10)); // the guest is between 0xcf8 and 0xcfc

        StateSupport.copy(a.parts(), b.parts());
        assertEquals(a.observe(), b.observe());
        assertTrue(b.f.irqLevel[11]);
        assertEquals(0xfebf1000L, b.f.bus.mappedAddress(4, 0, 0));
        assertEquals(0x100 + 4, b.f.pio.read(0xc044, 1), "the NIC's I/O BAR answers at its restored place");
        assertTrue(b.f.mmio.isAssigned(0xfebf1000L));
        assertFalse(b.f.mmio.isAssigned(0xfebf2000L));

        for (Machine m : List.of(a, b)) {             // the same guest steps on both
            m.f.write(3, 0, 4, 2, PciConfigSpace.COMMAND_IO | PciConfigSpace.COMMAND_INTX_DISABLE);
            m.f.write(1, 0, 0x62, 1, 10);
            m.f.write(4, 0, 0x10, 4, 0xfebf2000);
        }
        assertEquals(a.observe(), b.observe());
        assertFalse(b.f.irqLevel[11], "INTx masked by the restored command register path");
        assertTrue(b.f.mmio.isAssigned(0xfebf2000L));
        assertFalse(b.f.mmio.isAssigned(0xfebf1000L), "the restored mapping was moved, not left behind");
        exec.shutdownNow();
    }

    @Test
    void refusals() {
        Machine a = new Machine();
        String at = "section '" + StateSupport.ID + "': ";
        PciMachineFixture other = new PciMachineFixture();
        assertEquals(at + "configuration mismatch: 'functions' is '00.0=8086:1237 01.0=8086:7000"
                        + " 03.0=1af4:1000 04.0=8086:25ab' in the saved state, '00.0=8086:1237 01.0=8086:7000' here",
                StateSupport.refusal(other.bus, StateSupport.save(a.f.bus)));
        byte[] levels = new byte[256];
        levels[4 * 8] = 1;
        assertEquals(at + "field 'intx' is invalid: level 1 for 04.0, which has no INTx wire",
                StateSupport.refusal(new Machine().f.bus,
                        StateSupport.edit(StateSupport.save(a.f.bus), "intx", w -> w.bytes("intx", levels))));
        assertEquals(at + "field 'rcr' is invalid: 0x04: only bit 1 (SRST) is kept",
                StateSupport.refusal(other.piix3,
                        StateSupport.edit(StateSupport.save(a.f.piix3), "rcr", w -> w.u8("rcr", 4))));
        assertEquals(at + "field 'config' is invalid: saved for device 8086:7000, this is 8086:1237",
                StateSupport.refusal(other.i440fx, StateSupport.save(a.f.piix3)));
        assertThrows(StateException.class, () -> StateSupport.copy(List.of(a.f.bus), List.of(other.bus)));
        exec.shutdownNow();
    }
}
