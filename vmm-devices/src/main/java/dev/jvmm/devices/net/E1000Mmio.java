package dev.jvmm.devices.net;

import dev.jvmm.core.io.IoHandler;

import static dev.jvmm.devices.net.E1000Regs.*;

/**
 * 8254x manual section 13 as QEMU 7.2's e1000 decodes it: BAR0's register file through the read and write
 * operations of {@link E1000MacRegs} (read-to-clear counters, masked writes, the registers with actions:
 * interrupts, MDIC, EECD/EERD, RCTL, TCTL/TDT, RDT, CTRL), and BAR1's I/O window, which QEMU 7.2 leaves
 * unimplemented. The handlers take {@link E1000}'s lock; the rest runs under it.
 */
final class E1000Mmio {
    private final E1000 dev;
    private final int[] mac;

    E1000Mmio(E1000 dev, int[] mac) {
        this.dev = dev;
        this.mac = mac;
    }

    /** mac_*_read for word index (already checked against the properties). */
    int readReg(int index) {
        switch (E1000MacRegs.readOp(index)) {
            case E1000MacRegs.R_PLAIN:
                return mac[index];
            case E1000MacRegs.R_CLR4: {
                int v = mac[index];
                mac[index] = 0;
                return v;
            }
            case E1000MacRegs.R_CLR8: {
                int v = mac[index];
                mac[index] = 0;
                mac[index - 1] = 0;
                return v;
            }
            case E1000MacRegs.R_ICR: {
                int v = mac[index];
                dev.irq.setInterruptCause(0);
                return v;
            }
            case E1000MacRegs.R_EECD:
                return dev.eeprom.readEecd();
            case E1000MacRegs.R_EERD:
                return dev.eeprom.readEerd(mac[index]);
            default:
                return 0;
        }
    }

    void writeReg(int index, int val) {
        switch (E1000MacRegs.writeOp(index)) {
            case E1000MacRegs.W_PLAIN -> {
                mac[index] = val;
                if (index == w(RA) + 1) {
                    dev.guestMacChanged();
                }
            }
            case E1000MacRegs.W_DLEN -> mac[index] = val & 0xfff80;
            case E1000MacRegs.W_TCTL -> {
                mac[index] = val;
                mac[w(TDT)] &= 0xffff;
                dev.tx.startXmit();
            }
            case E1000MacRegs.W_MDIC -> setMdic(val);
            case E1000MacRegs.W_ICS -> dev.irq.setIcs(val);
            case E1000MacRegs.W_16BIT -> mac[index] = val & 0xffff;
            case E1000MacRegs.W_11BIT -> mac[index] = val & 0x7ff;
            case E1000MacRegs.W_13BIT -> mac[index] = val & 0x1fff;
            case E1000MacRegs.W_4BIT -> mac[index] = val & 0xf;
            case E1000MacRegs.W_RDT -> {
                mac[index] = val & 0xffff;
                if (dev.rx.hasRxbufs(1)) {
                    dev.requestFlush();
                }
            }
            case E1000MacRegs.W_IMC -> {
                mac[w(IMS)] &= ~val;
                dev.irq.setIcs(0);
            }
            case E1000MacRegs.W_IMS -> {
                mac[w(IMS)] |= val;
                dev.irq.setIcs(0);
            }
            case E1000MacRegs.W_ICR -> dev.irq.setInterruptCause(mac[w(ICR)] & ~val);
            case E1000MacRegs.W_EECD -> dev.eeprom.writeEecd(val);
            case E1000MacRegs.W_RCTL -> {
                mac[index] = val;
                dev.rx.setRctl(val);
                // QEMU holds frames back for a second after RCTL changes (e1000_flush_queue_timer)
                dev.holdReception();
            }
            case E1000MacRegs.W_CTRL -> mac[index] = val & ~CTRL_RST;
            default -> {
                // read-only or unknown: ignored
            }
        }
    }

    /** set_mdic: PHY 1's registers; other PHY addresses and unsupported registers set ERROR. */
    void setMdic(int val) {
        int data = val & MDIC_DATA_MASK;
        int addr = (val & MDIC_REG_MASK) >>> MDIC_REG_SHIFT;
        if ((val & MDIC_PHY_MASK) >>> MDIC_PHY_SHIFT != E1000Phy.PHY_ADDRESS) {
            val = mac[w(MDIC)] | MDIC_ERROR;
        } else if ((val & MDIC_OP_READ) != 0) {
            if (!E1000Phy.readable(addr)) {
                val |= MDIC_ERROR;
            } else {
                val = (val ^ data) | dev.phy.regs[addr];
            }
        } else if ((val & MDIC_OP_WRITE) != 0) {
            if (!E1000Phy.writable(addr)) {
                val |= MDIC_ERROR;
            } else if (addr == E1000Phy.MII_BMCR) {
                // bits 0-5 reserved; RESET and ANRESTART self-clear
                dev.phy.regs[addr] = data & ~(0x3f | E1000Phy.BMCR_RESET | E1000Phy.BMCR_ANRESTART);
                if (dev.haveAutoneg() && (data & E1000Phy.BMCR_ANRESTART) != 0) {
                    dev.restartAutoneg();
                }
            } else {
                dev.phy.regs[addr] = data;
            }
        }
        mac[w(MDIC)] = val | MDIC_READY;
        if ((val & MDIC_INT_EN) != 0) {
            dev.irq.setIcs(ICR_MDAC);
        }
    }

    boolean enabled(int index) {
        return E1000MacRegs.enabled(index, dev.flags().mitigation(), dev.flags().extraMacRegisters());
    }

    /**
     * BAR0: QEMU's memory core splits an access into naturally aligned pieces of at most 4 bytes; each piece
     * reaches the 32-bit register its address falls in (an offset inside a register names the register
     * itself) with the piece's width of data.
     */
    final class Mmio implements IoHandler {
        @Override
        public long read(long offset, int size) {
            dev.lock.lock();
            try {
                long v = 0;
                for (int done = 0; done < size; ) {
                    long a = offset + done;
                    int piece = piece(a, size - done);
                    int index = (int) ((a & (E1000.MMIO_SIZE - 1)) >>> 2);
                    long r = 0;
                    if (E1000MacRegs.readOp(index) != 0 && enabled(index)) {
                        r = readReg(index) & 0xffff_ffffL;
                    }
                    v |= (r & mask(piece)) << (8 * done);
                    done += piece;
                }
                return v;
            } finally {
                dev.unlock();
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            dev.lock.lock();
            try {
                for (int done = 0; done < size; ) {
                    long a = offset + done;
                    int piece = piece(a, size - done);
                    int index = (int) ((a & (E1000.MMIO_SIZE - 1)) >>> 2);
                    if (E1000MacRegs.writeOp(index) != 0 && enabled(index)) {
                        writeReg(index, (int) ((value >>> (8 * done)) & mask(piece)));
                    }
                    done += piece;
                }
            } finally {
                dev.unlock();
            }
        }
    }

    /** The largest naturally aligned piece at a, at most 4 bytes and at most left. */
    static int piece(long a, int left) {
        int p = 4;
        while (p > left || (a & (p - 1)) != 0) {
            p >>= 1;
        }
        return p;
    }

    static long mask(int bytes) {
        return bytes >= 8 ? -1L : (1L << (8 * bytes)) - 1;
    }

    /** BAR1: QEMU 7.2's e1000_io_read/e1000_io_write do nothing. */
    static final class IoWindow implements IoHandler {
        @Override
        public long read(long offset, int size) {
            return 0;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    }
}
