package dev.jvmm.devices.net;

/**
 * 8254x manual section 13.3.3 ("PHY Registers", the integrated 82540EM PHY, Marvell 88E1000-compatible) and
 * IEEE 802.3 clause 22: the 32 PHY registers QEMU 7.2's e1000 keeps, its read and write capabilities and its
 * reset values. Access goes through MDIC; {@link E1000} holds the lock.
 */
final class E1000Phy {
    // IEEE 802.3 clause 22 registers
    static final int MII_BMCR = 0x00;
    static final int MII_BMSR = 0x01;
    static final int MII_PHYID1 = 0x02;
    static final int MII_PHYID2 = 0x03;
    static final int MII_ANAR = 0x04;
    static final int MII_ANLPAR = 0x05;
    static final int MII_ANER = 0x06;
    static final int MII_CTRL1000 = 0x09;
    static final int MII_STAT1000 = 0x0a;
    // 88E1000 vendor registers
    static final int M88E1000_PHY_SPEC_CTRL = 0x10;
    static final int M88E1000_PHY_SPEC_STATUS = 0x11;
    static final int M88E1000_EXT_PHY_SPEC_CTRL = 0x14;
    static final int M88E1000_RX_ERR_CNTR = 0x15;

    static final int BMCR_SPEED1000 = 0x0040;
    static final int BMCR_FD = 0x0100;
    static final int BMCR_ANRESTART = 0x0200;
    static final int BMCR_AUTOEN = 0x1000;
    static final int BMCR_LOOPBACK = 0x4000;
    static final int BMCR_RESET = 0x8000;

    static final int BMSR_EXTCAP = 0x0001;
    static final int BMSR_LINK_ST = 0x0004;
    static final int BMSR_AUTONEG = 0x0008;
    static final int BMSR_AN_COMP = 0x0020;
    static final int BMSR_MFPS = 0x0040;
    static final int BMSR_EXTSTAT = 0x0100;
    static final int BMSR_10T_HD = 0x0800;
    static final int BMSR_10T_FD = 0x1000;
    static final int BMSR_100TX_HD = 0x2000;
    static final int BMSR_100TX_FD = 0x4000;

    static final int ANAR_CSMACD = 0x0001;
    static final int ANAR_10 = 0x0020;
    static final int ANAR_10FD = 0x0040;
    static final int ANAR_TX = 0x0080;
    static final int ANAR_TXFD = 0x0100;
    static final int ANAR_PAUSE = 0x0400;
    static final int ANAR_PAUSE_ASYM = 0x0800;
    static final int ANLPAR_ACK = 0x4000;
    static final int CTRL1000_FULL = 0x0200;
    static final int CTRL1000_PORT = 0x0400;
    static final int CTRL1000_MASTER = 0x0800;
    static final int STAT1000_HALF = 0x0400;
    static final int STAT1000_FULL = 0x0800;
    static final int STAT1000_ROK = 0x1000;
    static final int STAT1000_LOK = 0x2000;

    /** PHY identifier 1 of Marvell's OUI; identifier 2 of the 82540EM's PHY (manual table 13-52). */
    static final int PHY_ID1 = 0x0141;
    static final int PHY_ID2_8254XX = 0x0c20;
    /** The only PHY address MDIC answers on. */
    static final int PHY_ADDRESS = 1;

    private static final int R = 1;
    private static final int W = 2;
    /** QEMU's phy_regcap: which registers MDIC may read (R) and write (W). */
    private static final byte[] CAPS = new byte[32];
    private static final int[] RESET_VALUES = new int[32];

    static {
        CAPS[MII_BMCR] = R | W;
        CAPS[MII_BMSR] = R;
        CAPS[MII_PHYID1] = R;
        CAPS[MII_PHYID2] = R;
        CAPS[MII_ANAR] = R | W;
        CAPS[MII_ANLPAR] = R;
        CAPS[MII_ANER] = R;
        CAPS[MII_CTRL1000] = R | W;
        CAPS[MII_STAT1000] = R;
        CAPS[M88E1000_PHY_SPEC_CTRL] = R | W;
        CAPS[M88E1000_PHY_SPEC_STATUS] = R;
        CAPS[M88E1000_EXT_PHY_SPEC_CTRL] = R | W;
        CAPS[M88E1000_RX_ERR_CNTR] = R;

        RESET_VALUES[MII_BMCR] = BMCR_SPEED1000 | BMCR_FD | BMCR_AUTOEN;
        // link up, autonegotiation not yet complete
        RESET_VALUES[MII_BMSR] = BMSR_EXTCAP | BMSR_LINK_ST | BMSR_AUTONEG | BMSR_MFPS | BMSR_EXTSTAT
                | BMSR_10T_HD | BMSR_10T_FD | BMSR_100TX_HD | BMSR_100TX_FD;
        RESET_VALUES[MII_PHYID1] = PHY_ID1;
        RESET_VALUES[MII_PHYID2] = PHY_ID2_8254XX;
        RESET_VALUES[MII_ANAR] = ANAR_CSMACD | ANAR_10 | ANAR_10FD | ANAR_TX | ANAR_TXFD | ANAR_PAUSE
                | ANAR_PAUSE_ASYM;
        // the link partner QEMU pretends: 10/100 half and full duplex
        RESET_VALUES[MII_ANLPAR] = ANAR_10 | ANAR_10FD | ANAR_TX | ANAR_TXFD;
        RESET_VALUES[MII_CTRL1000] = CTRL1000_FULL | CTRL1000_PORT | CTRL1000_MASTER;
        RESET_VALUES[MII_STAT1000] = STAT1000_HALF | STAT1000_FULL | STAT1000_ROK | STAT1000_LOK;
        RESET_VALUES[M88E1000_PHY_SPEC_CTRL] = 0x360;
        RESET_VALUES[M88E1000_PHY_SPEC_STATUS] = 0xac00;
        RESET_VALUES[M88E1000_EXT_PHY_SPEC_CTRL] = 0x0d60;
    }

    final int[] regs = new int[32];

    void reset() {
        System.arraycopy(RESET_VALUES, 0, regs, 0, regs.length);
    }

    static boolean readable(int reg) {
        return (CAPS[reg] & R) != 0;
    }

    static boolean writable(int reg) {
        return (CAPS[reg] & W) != 0;
    }

    boolean autonegEnabled() {
        return (regs[MII_BMCR] & BMCR_AUTOEN) != 0;
    }

    boolean autonegComplete() {
        return (regs[MII_BMSR] & BMSR_AN_COMP) != 0;
    }

    boolean loopback() {
        return (regs[MII_BMCR] & BMCR_LOOPBACK) != 0;
    }

    /** e1000x_update_regs_on_link_down's PHY half. */
    void linkDown() {
        regs[MII_BMSR] &= ~(BMSR_LINK_ST | BMSR_AN_COMP);
        regs[MII_ANLPAR] &= ~ANLPAR_ACK;
    }

    void linkUp() {
        regs[MII_BMSR] |= BMSR_LINK_ST;
    }

    void autonegDone() {
        linkUp();
        regs[MII_ANLPAR] |= ANLPAR_ACK;
        regs[MII_BMSR] |= BMSR_AN_COMP;
    }
}
