package dev.jvmm.devices.net;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * Which of the 32 Ki register words of BAR0 QEMU 7.2's e1000 decodes and how: its read operations (plain,
 * read-to-clear 32- and 64-bit counters, ICR, EECD, EERD), its write operations (plain, masked to 4, 11, 13
 * or 16 bits, descriptor lengths, and the registers with side effects), and the registers that answer only
 * with the mitigation or extra_mac_registers property on. Words without a read operation read 0; writes to
 * words without a write operation are ignored.
 */
final class E1000MacRegs {
    private E1000MacRegs() {
    }

    static final int WORDS = 0x8000;

    static final byte R_PLAIN = 1;
    static final byte R_CLR4 = 2;
    static final byte R_CLR8 = 3;
    static final byte R_ICR = 4;
    static final byte R_EECD = 5;
    static final byte R_EERD = 6;

    static final byte W_PLAIN = 1;
    static final byte W_DLEN = 2;
    static final byte W_TCTL = 3;
    static final byte W_MDIC = 4;
    static final byte W_ICS = 5;
    static final byte W_16BIT = 6;
    static final byte W_RDT = 7;
    static final byte W_IMC = 8;
    static final byte W_IMS = 9;
    static final byte W_ICR = 10;
    static final byte W_EECD = 11;
    static final byte W_RCTL = 12;
    static final byte W_CTRL = 13;
    static final byte W_11BIT = 14;
    static final byte W_13BIT = 15;
    static final byte W_4BIT = 16;

    /** The property a register needs: mitigation, extra_mac_registers. */
    static final byte NEEDS_MIT = 1;
    static final byte NEEDS_MAC = 2;

    private static final byte[] READ = new byte[WORDS];
    private static final byte[] WRITE = new byte[WORDS];
    private static final byte[] NEEDS = new byte[WORDS];

    static {
        for (int r : new int[] {PBA, RCTL, TDH, TXDCTL, WUFC, TDT, CTRL, LEDCTL, MANC, MDIC, SWSM, STATUS, TORL,
                TOTL, IMS, TCTL, RDH, RDT, VET, ICS, TDBAL, TDBAH, RDBAH, RDBAL, TDLEN, RDLEN, RDTR, RADV, TADV, ITR,
                FCRUC, IPAV, WUC, WUS, SCC, ECOL, MCC, LATECOL, COLC, DC, TNCRS, SEC, CEXTERR, RLEC, XONRXC, XONTXC,
                XOFFRXC, XOFFTXC, RFC, RJC, RNBC, TSCTFC, MGTPRC, MGTPDC, MGTPTC, GORCL, GOTCL, RDFH, RDFT, RDFHS,
                RDFTS, RDFPC, TDFH, TDFT, TDFHS, TDFTS, TDFPC, AIT}) {
            READ[w(r)] = R_PLAIN;
        }
        for (int r : new int[] {TOTH, TORH, GOTCH, GORCH}) {
            READ[w(r)] = R_CLR8;
        }
        for (int r : new int[] {PRC64, PRC127, PRC255, PRC511, PRC1023, PRC1522, PTC64, PTC127, PTC255, PTC511,
                PTC1023, PTC1522, GPRC, GPTC, TPT, TPR, RUC, ROC, BPRC, MPRC, TSCTC, BPTC, MPTC}) {
            READ[w(r)] = R_CLR4;
        }
        READ[w(ICR)] = R_ICR;
        READ[w(EECD)] = R_EECD;
        READ[w(EERD)] = R_EERD;
        range(READ, CRCERRS, w(MPC) - w(CRCERRS) + 1, R_PLAIN);
        range(READ, IP6AT, 4, R_PLAIN);
        range(READ, IP4AT, 7, R_PLAIN);
        range(READ, FFLT, 7, R_PLAIN);
        range(READ, RA, RA_WORDS, R_PLAIN);
        range(READ, WUPM, 32, R_PLAIN);
        range(READ, MTA, MTA_SIZE, R_PLAIN);
        range(READ, VFTA, VFTA_SIZE, R_PLAIN);
        range(READ, FFMT, 255, R_PLAIN);
        range(READ, FFVT, 255, R_PLAIN);
        range(READ, PBM, 16384, R_PLAIN);

        for (int r : new int[] {PBA, EERD, SWSM, WUFC, TDBAL, TDBAH, TXDCTL, RDBAH, RDBAL, LEDCTL, VET, FCRUC, IPAV,
                WUC, WUS}) {
            WRITE[w(r)] = W_PLAIN;
        }
        WRITE[w(TDLEN)] = W_DLEN;
        WRITE[w(RDLEN)] = W_DLEN;
        WRITE[w(TCTL)] = W_TCTL;
        WRITE[w(TDT)] = W_TCTL;
        WRITE[w(MDIC)] = W_MDIC;
        WRITE[w(ICS)] = W_ICS;
        WRITE[w(TDH)] = W_16BIT;
        WRITE[w(RDH)] = W_16BIT;
        WRITE[w(RDT)] = W_RDT;
        WRITE[w(IMC)] = W_IMC;
        WRITE[w(IMS)] = W_IMS;
        WRITE[w(ICR)] = W_ICR;
        WRITE[w(EECD)] = W_EECD;
        WRITE[w(RCTL)] = W_RCTL;
        WRITE[w(CTRL)] = W_CTRL;
        for (int r : new int[] {RDTR, RADV, TADV, ITR, AIT}) {
            WRITE[w(r)] = W_16BIT;
        }
        WRITE[w(TDFH)] = W_11BIT;
        WRITE[w(TDFT)] = W_11BIT;
        for (int r : new int[] {TDFHS, TDFTS, TDFPC, RDFH, RDFT, RDFHS, RDFTS, RDFPC}) {
            WRITE[w(r)] = W_13BIT;
        }
        range(WRITE, IP6AT, 4, W_PLAIN);
        range(WRITE, IP4AT, 7, W_PLAIN);
        range(WRITE, FFLT, 7, W_11BIT);
        range(WRITE, RA, RA_WORDS, W_PLAIN);
        range(WRITE, WUPM, 32, W_PLAIN);
        range(WRITE, MTA, MTA_SIZE, W_PLAIN);
        range(WRITE, VFTA, VFTA_SIZE, W_PLAIN);
        range(WRITE, FFMT, 255, W_4BIT);
        range(WRITE, FFVT, 255, W_PLAIN);
        range(WRITE, PBM, 16384, W_PLAIN);

        for (int r : new int[] {RDTR, TADV, RADV, ITR}) {
            NEEDS[w(r)] = NEEDS_MIT;
        }
        // QEMU flags the first word of each table only
        for (int r : new int[] {IPAV, WUC, IP6AT, IP4AT, FFVT, WUPM, ECOL, MCC, DC, TNCRS, RLEC, XONRXC, XOFFTXC,
                RFC, TSCTFC, MGTPRC, WUS, AIT, FFLT, FFMT, SCC, FCRUC, LATECOL, COLC, SEC, CEXTERR, XONTXC, XOFFRXC,
                RJC, RNBC, MGTPDC, MGTPTC, RUC, ROC, GORCL, GORCH, GOTCL, GOTCH, BPRC, MPRC, TSCTC, PRC64, PRC127,
                PRC255, PRC511, PRC1023, PRC1522, PTC64, PTC127, PTC255, PTC511, PTC1023, PTC1522, MPTC, BPTC, TDFH,
                TDFT, TDFHS, TDFTS, TDFPC, RDFH, RDFT, RDFHS, RDFTS, RDFPC, PBM}) {
            NEEDS[w(r)] = NEEDS_MAC;
        }
    }

    private static void range(byte[] table, int offset, int words, byte op) {
        java.util.Arrays.fill(table, w(offset), w(offset) + words, op);
    }

    static int readOp(int index) {
        return READ[index];
    }

    static int writeOp(int index) {
        return WRITE[index];
    }

    /** Whether word index answers with these properties (mitigation, extra_mac_registers). */
    static boolean enabled(int index, boolean mitigation, boolean extraMac) {
        return switch (NEEDS[index]) {
            case NEEDS_MIT -> mitigation;
            case NEEDS_MAC -> extraMac;
            default -> true;
        };
    }
}
