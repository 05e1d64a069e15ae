package dev.jvmm.devices.acpi;

import dev.jvmm.core.io.PioBus;
import dev.jvmm.devices.StateSupport;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static dev.jvmm.devices.acpi.Piix4Pm.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PM saved with its timer running, GPE and PM1 events pending, restored into a PM built later. */
class Piix4PmStateTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<String> sleeps = new ArrayList<>();

    final class Pm {
        boolean sci;
        final PioBus pio = new PioBus();
        final Piix4Pm dev = new Piix4Pm(high -> sci = high, new SleepRequest() {
            @Override
            public void shutdown() {
                sleeps.add("S5");
            }

            @Override
            public void suspend() {
                sleeps.add("S3");
            }

            @Override
            public void hibernate() {
                sleeps.add("S4");
            }
        }, now::get, null, false, DEFAULT_S4_VAL);

        Pm() {
            dev.attach(pio);
        }

        String observe(int base) {
            return String.format("tmr=%06x sts=%04x en=%04x cnt=%04x gpe=%08x apm=%04x sci=%b base=%d",
                    pio.read(base + PM_TMR, 4), pio.read(base + PM1_STS, 2), pio.read(base + PM1_EN, 2),
                    pio.read(base + PM1_CNT, 2), pio.read(GPE0_BASE, 4), pio.read(APM_CNT, 2), sci, dev.pmIoBase());
        }
    }

    @Test
    void timerAndEventsGoOnFromTheSavedValues() throws Exception {
        Pm a = new Pm();
        a.dev.enablePmIo(0x700);
        a.pio.write(APM_CNT, 1, ACPI_ENABLE);
        a.pio.write(0x700 + PM1_STS, 2, TMR_STS);        // clear the reset-time TMR_STS: overflow point moves on
        a.pio.write(0x700 + PM1_EN, 2, PWRBTN_EN | TMR_EN);
        a.pio.write(GPE0_BASE + 2, 2, 0x0004);
        a.dev.raiseGpe(2);
        a.dev.powerButton();
        now.addAndGet(1_234_567_891L);
        assertTrue(a.sci);

        now.addAndGet(777_000_000L);                       // B is built later: its own timer origin differs
        Pm b = new Pm();
        now.addAndGet(-777_000_000L);
        StateSupport.copy(a.dev, b.dev);
        assertEquals(a.observe(0x700), b.observe(0x700));
        assertFalse(b.pio.isAssigned(0x600), "only the restored PMBA is decoded");

        for (Pm p : List.of(a, b)) {
            p.pio.write(GPE0_BASE, 2, 0x0004);             // acknowledge the GPE and the button
            p.pio.write(0x700 + PM1_STS, 2, PWRBTN_STS);
        }
        assertEquals(a.observe(0x700), b.observe(0x700));
        now.addAndGet(2_500_000_000L);                     // past bit 23's toggle: TMR_STS and the SCI
        a.dev.timerExpired();                              // what each one's overflow alarm does
        b.dev.timerExpired();
        assertEquals(a.observe(0x700), b.observe(0x700));
        assertTrue(b.sci);
        for (Pm p : List.of(a, b)) {
            p.pio.write(0x700 + PM1_CNT, 2, SCI_EN | 1 << SLP_TYP_SHIFT | SLP_EN);
        }
        assertEquals(List.of("S3", "S3"), sleeps);
        assertEquals(a.observe(0x700), b.observe(0x700));
    }

    @Test
    void refusals() {
        Pm a = new Pm();
        byte[] p = StateSupport.save(a.dev);
        String at = "section '" + StateSupport.ID + "': ";
        Piix4Pm acpiOnly = new Piix4Pm(h -> { }, null, now::get, null, true, DEFAULT_S4_VAL);
        assertEquals(at + "configuration mismatch: 'acpi-only' is false in the saved state, true here",
                StateSupport.refusal(acpiOnly, p));
        Pm b = new Pm();
        assertEquals(at + "field 'pm1-sts' is invalid: TMR_STS is computed from the timer, never stored",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "pm1-sts", w -> w.u16("pm1-sts", TMR_STS))));
        assertEquals(at + "field 'pm1-cnt' is invalid: SLP_EN is write-only",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "pm1-cnt", w -> w.u16("pm1-cnt", SLP_EN))));
        assertEquals(at + "field 'timer-ns' is invalid: -5 is outside 0..4611686018427387903",
                StateSupport.refusal(b.dev, StateSupport.edit(p, "timer-ns", w -> w.u64("timer-ns", -5))));
        assertEquals(-1, b.dev.pmIoBase());
    }
}
