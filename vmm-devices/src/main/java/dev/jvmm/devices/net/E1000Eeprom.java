package dev.jvmm.devices.net;

import static dev.jvmm.devices.net.E1000Regs.EECD_CS;
import static dev.jvmm.devices.net.E1000Regs.EECD_DI;
import static dev.jvmm.devices.net.E1000Regs.EECD_DO;
import static dev.jvmm.devices.net.E1000Regs.EECD_FWE_MASK;
import static dev.jvmm.devices.net.E1000Regs.EECD_GNT;
import static dev.jvmm.devices.net.E1000Regs.EECD_PRES;
import static dev.jvmm.devices.net.E1000Regs.EECD_REQ;
import static dev.jvmm.devices.net.E1000Regs.EECD_SK;
import static dev.jvmm.devices.net.E1000Regs.EERD_ADDR_SHIFT;
import static dev.jvmm.devices.net.E1000Regs.EERD_DATA_SHIFT;
import static dev.jvmm.devices.net.E1000Regs.EERD_DONE;
import static dev.jvmm.devices.net.E1000Regs.EERD_START;

/**
 * 8254x manual section 5.2 ("EEPROM Interface") and tables 5-2/5-3: the 64-word Microwire EEPROM, read by
 * bit-banging EECD (SK, CS, DI, DO) or through EERD, with QEMU 7.2's contents: the MAC address in words 0-2,
 * the device id in words 11 and 13, and word 63 making the sum of all 64 words 0xBABA. As in QEMU only the
 * READ opcode (110b) returns data; other opcodes shift in and are ignored.
 */
final class E1000Eeprom {
    static final int WORDS = 64;
    static final int CHECKSUM_REG = 0x3f;
    static final int SUM = 0xbaba;
    /** Microwire READ opcode (start bit included: 1, 10). */
    static final int READ_OPCODE_MICROWIRE = 0x6;

    private static final int[] TEMPLATE = {
        0x0000, 0x0000, 0x0000, 0x0000, 0xffff, 0x0000, 0x0000, 0x0000,
        0x3000, 0x1000, 0x6403, 0x0000, 0x8086, 0x0000, 0x8086, 0x3040,
        0x0008, 0x2000, 0x7e14, 0x0048, 0x1000, 0x00d8, 0x0000, 0x2700,
        0x6cc9, 0x3150, 0x0722, 0x040b, 0x0984, 0x0000, 0xc000, 0x0706,
        0x1008, 0x0000, 0x0f04, 0x7fff, 0x4d01, 0xffff, 0xffff, 0xffff,
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        0x0100, 0x4000, 0x121c, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x0000,
    };

    final int[] data = new int[WORDS];

    // The Microwire shift state (QEMU's eecd_state); it survives device reset as in QEMU.
    int valIn;
    int bitnumIn;
    int bitnumOut;
    boolean reading;
    int oldEecd;

    E1000Eeprom(byte[] mac, int deviceId) {
        System.arraycopy(TEMPLATE, 0, data, 0, WORDS);
        for (int i = 0; i < 3; i++) {
            data[i] = (mac[2 * i + 1] & 0xff) << 8 | (mac[2 * i] & 0xff);
        }
        data[11] = deviceId;
        data[13] = deviceId;
        int sum = 0;
        for (int i = 0; i < CHECKSUM_REG; i++) {
            sum += data[i];
        }
        data[CHECKSUM_REG] = (SUM - sum) & 0xffff;
    }

    /** EECD as read: present, granted, the last written control bits and the data-out bit. */
    int readEecd() {
        int v = EECD_PRES | EECD_GNT | oldEecd;
        if (!reading || ((data[(bitnumOut >> 4) & 0x3f] >> ((bitnumOut & 0xf) ^ 0xf)) & 1) != 0) {
            v |= EECD_DO;
        }
        return v;
    }

    /** EECD write: CS rising resets the shifter; SK rising shifts DI in, SK falling moves DO on. */
    void writeEecd(int v) {
        int old = oldEecd;
        oldEecd = v & (EECD_SK | EECD_CS | EECD_DI | EECD_FWE_MASK | EECD_REQ);
        if ((v & EECD_CS) == 0) {
            return;
        }
        if (((v ^ old) & EECD_CS) != 0) {
            valIn = 0;
            bitnumIn = 0;
            bitnumOut = 0;
            reading = false;
        }
        if (((v ^ old) & EECD_SK) == 0) {
            return;
        }
        if ((v & EECD_SK) == 0) {
            bitnumOut = (bitnumOut + 1) & 0xffff;
            return;
        }
        valIn <<= 1;
        if ((v & EECD_DI) != 0) {
            valIn |= 1;
        }
        bitnumIn = (bitnumIn + 1) & 0xffff;
        if (bitnumIn == 9 && !reading) {
            bitnumOut = (((valIn & 0x3f) << 4) - 1) & 0xffff;
            reading = ((valIn >> 6) & 7) == READ_OPCODE_MICROWIRE;
        }
    }

    /** EERD as read: with START set, DONE and the addressed word (addresses past 63 read no data). */
    int readEerd(int eerd) {
        if ((eerd & EERD_START) == 0) {
            return eerd;
        }
        int r = eerd & ~EERD_START;
        int index = r >>> EERD_ADDR_SHIFT;
        if (index > CHECKSUM_REG) {
            return EERD_DONE | r;
        }
        return data[index] << EERD_DATA_SHIFT | EERD_DONE | r;
    }
}
