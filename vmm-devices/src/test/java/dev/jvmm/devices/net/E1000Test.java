package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The e1000's registers, EEPROM, PHY, interrupts and link through BAR0, as a driver sees them. */
@Timeout(60)
class E1000Test {
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    /** Linux's e1000 Microwire read: CS, opcode 110b and a 6-bit address out on DI, 16 bits in on DO. */
    private int bitBangRead(int addr) {
        int eecd = rig.r(EECD) & ~(EECD_SK | EECD_DI | EECD_CS);
        rig.w(EECD, eecd);
        eecd |= EECD_CS;
        rig.w(EECD, eecd);
        int out = E1000Eeprom.READ_OPCODE_MICROWIRE << 6 | addr;
        for (int bit = 8; bit >= 0; bit--) {
            eecd = (out >> bit & 1) != 0 ? eecd | EECD_DI : eecd & ~EECD_DI;
            rig.w(EECD, eecd);
            rig.w(EECD, eecd | EECD_SK);
            rig.w(EECD, eecd);
        }
        eecd &= ~EECD_DI;
        int data = 0;
        for (int i = 0; i < 16; i++) {
            rig.w(EECD, eecd | EECD_SK);
            data = data << 1 | ((rig.r(EECD) & EECD_DO) != 0 ? 1 : 0);
            rig.w(EECD, eecd);
        }
        rig.w(EECD, eecd & ~EECD_CS);
        return data;
    }

    private int eerdRead(int addr) {
        rig.w(EERD, addr << EERD_ADDR_SHIFT | EERD_START);
        int v = rig.r(EERD);
        assertTrue((v & EERD_DONE) != 0);
        return v >>> EERD_DATA_SHIFT;
    }

    @Test
    void eepromHoldsMacAndChecksumByBitBangAndEerd() {
        assertEquals(EECD_PRES | EECD_GNT | EECD_DO, rig.r(EECD));
        int sum = 0;
        for (int a = 0; a < 64; a++) {
            int word = bitBangRead(a);
            assertEquals(word, eerdRead(a), "word " + a);
            sum += word;
        }
        assertEquals(0xbaba, sum & 0xffff);
        assertEquals(0x5452, bitBangRead(0));
        assertEquals(0x1200, bitBangRead(1));
        assertEquals(0x5634, bitBangRead(2));
        assertEquals(0x100e, eerdRead(11));
        rig.w(EERD, 64 << EERD_ADDR_SHIFT | EERD_START);
        assertEquals(EERD_DONE | 64 << EERD_ADDR_SHIFT, rig.r(EERD), "past the last word: done, no data");
    }

    private int mdicRead(int phyAddr, int reg) {
        rig.w(MDIC, phyAddr << MDIC_PHY_SHIFT | reg << MDIC_REG_SHIFT | MDIC_OP_READ);
        return rig.r(MDIC);
    }

    @Test
    void phyRegistersThroughMdic() {
        assertEquals(MDIC_READY | MDIC_OP_READ | 2 << 16 | 1 << 21 | 0x141, mdicRead(1, 2));
        assertEquals(0x0c20, mdicRead(1, 3) & 0xffff);
        assertEquals(0x794d, mdicRead(1, 1) & 0xffff);
        assertEquals(0x01e0, mdicRead(1, 5) & 0xffff);
        assertTrue((mdicRead(1, 7) & MDIC_ERROR) != 0, "unsupported register");
        assertTrue((mdicRead(2, 1) & MDIC_ERROR) != 0, "no PHY at address 2");
        rig.w(MDIC, 1 << 21 | 1 << 16 | MDIC_OP_WRITE | 0xffff);
        assertTrue((rig.r(MDIC) & MDIC_ERROR) != 0, "BMSR is read-only");
        rig.w(MDIC, 1 << 21 | 4 << 16 | MDIC_OP_WRITE | 0x1e1);
        assertEquals(0x1e1, mdicRead(1, 4) & 0xffff);
        // MDIC with INT_EN raises MDAC
        rig.w(IMS, ICR_MDAC);
        rig.w(MDIC, 1 << 21 | 2 << 16 | MDIC_OP_READ | MDIC_INT_EN);
        E1000Rig.await("MDAC interrupt", rig::irq);
        assertEquals(ICR_MDAC, rig.r(ICR));
        assertFalse(rig.irq());
    }

    @Test
    void autonegotiationRestartTakesTheLinkDownThenUpWithLsc() {
        assertTrue((rig.r(STATUS) & STATUS_LU) != 0);
        rig.w(IMS, ICR_LSC);
        rig.w(MDIC, 1 << 21 | MDIC_OP_WRITE | 0x1140 | E1000Phy.BMCR_ANRESTART);
        assertEquals(0, rig.r(STATUS) & STATUS_LU, "link down while negotiating");
        assertEquals(0, mdicRead(1, 1) & E1000Phy.BMSR_LINK_ST);
        long t0 = System.nanoTime();
        E1000Rig.await("autonegotiation", () -> (rig.dev.mac[w(STATUS)] & STATUS_LU) != 0);
        assertTrue(System.nanoTime() - t0 >= 400_000_000L, "QEMU's 500 ms");
        E1000Rig.await("LSC", rig::irq);
        assertEquals(ICR_LSC, rig.r(ICR));
        int bmsr = mdicRead(1, 1) & 0xffff;
        assertEquals(E1000Phy.BMSR_AN_COMP | E1000Phy.BMSR_LINK_ST, bmsr & (E1000Phy.BMSR_AN_COMP | E1000Phy.BMSR_LINK_ST));
        assertEquals(E1000Phy.ANLPAR_ACK, mdicRead(1, 5) & E1000Phy.ANLPAR_ACK);
    }

    @Test
    void setLinkDownAndUpShowsInStatusWithLsc() {
        rig.w(IMS, ICR_LSC);
        assertTrue(rig.board.net.setLink("e1000.0", false));
        assertEquals(0, rig.r(STATUS) & STATUS_LU);
        E1000Rig.await("LSC on link down", rig::irq);
        assertEquals(ICR_LSC, rig.r(ICR));
        // up again: autonegotiation never completed here, so it runs first (500 ms)
        assertTrue(rig.board.net.setLink("peer0", true));
        E1000Rig.await("link up", () -> (rig.dev.mac[w(STATUS)] & STATUS_LU) != 0);
        E1000Rig.await("LSC on link up", rig::irq);
        assertEquals(ICR_LSC, rig.r(ICR));
        // link down clears "negotiation complete", so every link-up negotiates again
        rig.board.net.setLink("e1000.0", false);
        rig.r(ICR);
        rig.board.net.setLink("e1000.0", true);
        assertEquals(0, rig.r(STATUS) & STATUS_LU);
        E1000Rig.await("link up", () -> (rig.dev.mac[w(STATUS)] & STATUS_LU) != 0);
        // with autonegotiation off in the PHY, link-up is immediate
        rig.w(MDIC, 1 << 21 | MDIC_OP_WRITE | 0x0140);
        rig.board.net.setLink("e1000.0", false);
        rig.board.net.setLink("e1000.0", true);
        assertTrue((rig.r(STATUS) & STATUS_LU) != 0);
    }

    @Test
    void icrReadClearsAndLowersIntx() {
        rig.w(ICS, ICR_TXDW);
        assertFalse(rig.irq(), "masked");
        assertEquals(ICR_TXDW, rig.r(ICS), "ICS reads as ICR");
        rig.w(IMS, ICR_TXDW | ICR_RXT0);
        assertEquals(ICR_TXDW | ICR_RXT0, rig.r(IMS));
        E1000Rig.await("INTA#", rig::irq);
        assertEquals(ICR_TXDW, rig.r(ICR));
        assertFalse(rig.irq());
        assertEquals(0, rig.r(ICR));
        rig.w(ICS, ICR_RXT0);
        E1000Rig.await("INTA#", rig::irq);
        rig.w(IMC, ICR_RXT0);
        assertFalse(rig.irq(), "IMC masks it");
        rig.w(ICR, ICR_RXT0);
        assertEquals(0, rig.r(ICR), "write 1 clears");
    }

    @Test
    void itrDelaysTheInterruptOnGuestTime() {
        rig.w(ITR, 40000); // 40000 * 256 ns = 10.24 ms
        rig.w(IMS, ICR_TXDW);
        // the first edge is raised at once and opens the window
        long t0 = System.nanoTime();
        rig.w(ICS, ICR_TXDW);
        assertTrue(rig.irq());
        rig.r(ICR);
        assertFalse(rig.irq());
        // within the window a new cause waits; the timer then raises it
        rig.w(ICS, ICR_TXDW);
        assertFalse(rig.irq(), "held back by ITR");
        E1000Rig.await("INTA#", rig::irq);
        long took = System.nanoTime() - t0;
        assertTrue(took >= 10_240_000L, "raised after " + took + " ns");
    }

    @Test
    void mitigationOffRaisesAtOnceAndHidesTheRegisters() {
        try (E1000Rig r = new E1000Rig(new E1000.Flags(true, false, true, true, true))) {
            r.w(ITR, 40000);
            assertEquals(0, r.r(ITR));
            r.w(IMS, ICR_TXDW);
            r.w(ICS, ICR_TXDW);
            assertTrue(r.irq());
        }
    }

    @Test
    void registerMasksAndReadToClearCounters() {
        rig.w(RDH, 0x12345);
        assertEquals(0x2345, rig.r(RDH));
        rig.w(TDLEN, 0xffffffff);
        assertEquals(0xfff80, rig.r(TDLEN));
        rig.w(TDFH, 0xffff);
        assertEquals(0x7ff, rig.r(TDFH));
        rig.w(CTRL, rig.r(CTRL) | CTRL_RST);
        assertEquals(0, rig.r(CTRL) & CTRL_RST, "RST self-clears");
        rig.w(STATUS, 0);
        assertTrue((rig.r(STATUS) & STATUS_LU) != 0, "STATUS is read-only");
        rig.dev.mac[w(GPRC)] = 5;
        assertEquals(5, rig.r(GPRC));
        assertEquals(0, rig.r(GPRC));
        rig.dev.mac[w(TORL)] = 7;
        rig.dev.mac[w(TORH)] = 9;
        assertEquals(7, rig.r(TORL));
        assertEquals(9, rig.r(TORH));
        assertEquals(0, rig.r(TORL), "reading the high half clears both");
        // byte and word accesses reach the register the address falls in, low bytes first
        assertEquals(rig.r(CTRL) & 0xff, (int) rig.mmio.read(1, 1));
        assertEquals(rig.r(CTRL) & 0xffff, (int) rig.mmio.read(2, 2));
        assertEquals(0, rig.io.read(0, 4), "QEMU 7.2 leaves IOADDR/IODATA unimplemented");
    }

    @Test
    void guestMacChangeShowsInInfoNetwork() {
        assertEquals("model=e1000,macaddr=52:54:00:12:34:56", rig.dev.nic().infoString());
        rig.w(RA, 0x04030201);
        rig.w(RA + 4, RAH_AV | 0x0605);
        assertEquals(MacAddress.parse("01:02:03:04:05:06"), rig.dev.nic().macAddress());
        rig.dev.reset();
        assertEquals(E1000Rig.MAC, rig.dev.nic().macAddress());
    }
}
