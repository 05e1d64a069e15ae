package dev.jvmm.devices.net;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * {@link E1000}'s saved state, the fields of QEMU 7.2's vmstate_e1000 in jvmm's layout: config space, the
 * register file, PHY, EEPROM and its shift state, the transmit path's half-built frame and contexts, the
 * receive buffer settings, the interrupt mitigation state and the three timers as guest time left. Register
 * arrays are written as little-endian bytes. A load reads and checks everything before applying any of it, so
 * a stream that fails leaves the device as it was. The caller holds the device's lock.
 */
final class E1000State {
    private E1000State() {
    }

    static void save(E1000 d, StateWriter w) {
        d.config.saveState(w);
        w.bytes("mac-regs", words(d.mac, 4)).bytes("phy-regs", words(d.phy.regs, 2))
                .bytes("eeprom", words(d.eeprom.data, 2));
        E1000Eeprom eeprom = d.eeprom;
        w.u32("eecd-val-in", eeprom.valIn).u16("eecd-bitnum-in", eeprom.bitnumIn)
                .u16("eecd-bitnum-out", eeprom.bitnumOut).bool("eecd-reading", eeprom.reading)
                .u32("eecd-old", eeprom.oldEecd);
        w.u32("rxbuf-size", d.rx.rxbufSize).u8("rxbuf-min-shift", d.rx.rxbufMinShift);
        w.begin("tx");
        d.tx.save(w);
        w.end();
        E1000Interrupts irq = d.irq;
        w.bool("mit-timer-on", irq.mitTimerOn).bool("mit-irq-level", irq.mitIrqLevel).u32("mit-ide", irq.mitIde)
                .bool("use-tso-for-migration", d.useTsoForMigration);
        saveTimer(w, "autoneg", d.clock, d.autonegTimer);
        saveTimer(w, "mit", d.clock, irq.mitTimer);
        saveTimer(w, "flush", d.clock, d.flushTimer);
    }

    static void load(E1000 d, StateReader r) throws StateException {
        byte[] cfg = d.config.readState(r);
        int[] regs = unwords(r, "mac-regs", E1000MacRegs.WORDS, 4);
        int[] phyRegs = unwords(r, "phy-regs", d.phy.regs.length, 2);
        r.expectBytes("eeprom", words(d.eeprom.data, 2));
        int valIn = r.u32("eecd-val-in");
        int bitIn = r.u16("eecd-bitnum-in");
        int bitOut = r.u16("eecd-bitnum-out");
        boolean reading = r.bool("eecd-reading");
        int oldEecd = r.u32("eecd-old");
        if ((oldEecd & ~(EECD_SK | EECD_CS | EECD_DI | EECD_FWE_MASK | EECD_REQ)) != 0) {
            throw r.invalid("eecd-old", "bits outside the latched EECD controls");
        }
        int bufSize = r.u32("rxbuf-size", 0, 16384);
        if (bufSize != 0 && bufSize != E1000Rx.bufferSize(regs[w(RCTL)])) {
            throw r.invalid("rxbuf-size", bufSize + " is not RCTL's buffer size");
        }
        int minShift = r.u8("rxbuf-min-shift", 4);
        if (minShift < 1) {
            throw r.invalid("rxbuf-min-shift", "0 is below 1");
        }
        r.begin("tx");
        d.tx.load(r);
        r.end();
        boolean mitOn = r.bool("mit-timer-on");
        boolean irqLevel = r.bool("mit-irq-level");
        int ide = r.u32("mit-ide");
        if ((ide & ~TXD_CMD_IDE) != 0) {
            throw r.invalid("mit-ide", "bits other than IDE");
        }
        boolean tso = r.bool("use-tso-for-migration");
        long autoneg = loadTimer(r, "autoneg", E1000.AUTONEG_NANOS);
        long mit = loadTimer(r, "mit", 0xffff_ffffL * 4 * E1000.MIT_UNIT_NANOS);
        long flush = loadTimer(r, "flush", E1000.RCTL_FLUSH_DELAY_NANOS);
        d.config.applyState(cfg);
        System.arraycopy(regs, 0, d.mac, 0, d.mac.length);
        System.arraycopy(phyRegs, 0, d.phy.regs, 0, phyRegs.length);
        E1000Eeprom eeprom = d.eeprom;
        eeprom.valIn = valIn;
        eeprom.bitnumIn = bitIn;
        eeprom.bitnumOut = bitOut;
        eeprom.reading = reading;
        eeprom.oldEecd = oldEecd;
        d.rx.rxbufSize = bufSize;
        d.rx.rxbufMinShift = minShift;
        E1000Interrupts irq = d.irq;
        irq.mitTimerOn = mitOn;
        irq.mitIrqLevel = irqLevel;
        irq.mitIde = ide;
        d.useTsoForMigration = tso;
        restoreTimer(d.autonegTimer, autoneg);
        restoreTimer(irq.mitTimer, mit);
        restoreTimer(d.flushTimer, flush);
        // QEMU's post_load: the link state is STATUS.LU's, unless negotiation is still under way
        d.nic.setLinkDown((d.mac[w(STATUS)] & STATUS_LU) == 0 && autoneg < 0);
        d.guestMacChanged();
        irq.setIrq(irq.mitIrqLevel);
        d.requestFlush();
    }

    static void saveTimer(StateWriter w, String name, VirtualClock clock, VirtualClock.Timer t) {
        long deadline = t.deadline();
        w.bool(name + "-running", deadline >= 0);
        w.u64(name + "-remaining-ns", deadline >= 0 ? Math.max(0, deadline - clock.nanos()) : 0);
    }

    static long loadTimer(StateReader r, String name, long max) throws StateException {
        boolean running = r.bool(name + "-running");
        long left = r.u64(name + "-remaining-ns", 0, running ? max : 0);
        return running ? left : -1;
    }

    static void restoreTimer(VirtualClock.Timer t, long left) {
        if (left >= 0) {
            t.modIn(left);
        } else {
            t.cancel();
        }
    }

    /** Little-endian bytes of the low width bytes of each value. */
    static byte[] words(int[] v, int width) {
        byte[] out = new byte[v.length * width];
        for (int i = 0; i < v.length; i++) {
            for (int b = 0; b < width; b++) {
                out[i * width + b] = (byte) (v[i] >>> (8 * b));
            }
        }
        return out;
    }

    static int[] unwords(StateReader r, String name, int count, int width) throws StateException {
        byte[] in = r.bytes(name);
        if (in.length != count * width) {
            throw r.invalid(name, in.length + " bytes, expected " + count * width);
        }
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            for (int b = 0; b < width; b++) {
                out[i] |= (in[i * width + b] & 0xff) << (8 * b);
            }
        }
        return out;
    }
}
