package dev.jvmm.devices.net;

/**
 * PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x), section 13 "Register
 * Descriptions": the 82540EM register offsets and bits QEMU 7.2's e1000 uses, named as in the manual.
 * Register constants are byte offsets in BAR0; {@link E1000} keeps the file as 32-bit words (offset / 4).
 */
final class E1000Regs {
    private E1000Regs() {
    }

    // 13.3 General, interrupt, receive, transmit and statistics registers (byte offsets).
    static final int CTRL = 0x0000;
    static final int STATUS = 0x0008;
    static final int EECD = 0x0010;
    static final int EERD = 0x0014;
    static final int MDIC = 0x0020;
    static final int VET = 0x0038;
    static final int ICR = 0x00c0;
    static final int ITR = 0x00c4;
    static final int ICS = 0x00c8;
    static final int IMS = 0x00d0;
    static final int IMC = 0x00d8;
    static final int RCTL = 0x0100;
    static final int TCTL = 0x0400;
    static final int AIT = 0x0458;
    static final int LEDCTL = 0x0e00;
    static final int PBA = 0x1000;
    static final int RDFH = 0x2410;
    static final int RDFT = 0x2418;
    static final int RDFHS = 0x2420;
    static final int RDFTS = 0x2428;
    static final int RDFPC = 0x2430;
    static final int RDBAL = 0x2800;
    static final int RDBAH = 0x2804;
    static final int RDLEN = 0x2808;
    static final int RDH = 0x2810;
    static final int RDT = 0x2818;
    static final int RDTR = 0x2820;
    static final int RADV = 0x282c;
    static final int TDFH = 0x3410;
    static final int TDFT = 0x3418;
    static final int TDFHS = 0x3420;
    static final int TDFTS = 0x3428;
    static final int TDFPC = 0x3430;
    static final int TDBAL = 0x3800;
    static final int TDBAH = 0x3804;
    static final int TDLEN = 0x3808;
    static final int TDH = 0x3810;
    static final int TDT = 0x3818;
    static final int TIDV = 0x3820;
    static final int TXDCTL = 0x3828;
    static final int TADV = 0x382c;
    static final int CRCERRS = 0x4000;
    static final int MPC = 0x4010;
    static final int SCC = 0x4014;
    static final int ECOL = 0x4018;
    static final int MCC = 0x401c;
    static final int LATECOL = 0x4020;
    static final int COLC = 0x4028;
    static final int DC = 0x4030;
    static final int TNCRS = 0x4034;
    static final int SEC = 0x4038;
    static final int CEXTERR = 0x403c;
    static final int RLEC = 0x4040;
    static final int XONRXC = 0x4048;
    static final int XONTXC = 0x404c;
    static final int XOFFRXC = 0x4050;
    static final int XOFFTXC = 0x4054;
    static final int FCRUC = 0x4058;
    static final int PRC64 = 0x405c;
    static final int PRC127 = 0x4060;
    static final int PRC255 = 0x4064;
    static final int PRC511 = 0x4068;
    static final int PRC1023 = 0x406c;
    static final int PRC1522 = 0x4070;
    static final int GPRC = 0x4074;
    static final int BPRC = 0x4078;
    static final int MPRC = 0x407c;
    static final int GPTC = 0x4080;
    static final int GORCL = 0x4088;
    static final int GORCH = 0x408c;
    static final int GOTCL = 0x4090;
    static final int GOTCH = 0x4094;
    static final int RNBC = 0x40a0;
    static final int RUC = 0x40a4;
    static final int RFC = 0x40a8;
    static final int ROC = 0x40ac;
    static final int RJC = 0x40b0;
    static final int MGTPRC = 0x40b4;
    static final int MGTPDC = 0x40b8;
    static final int MGTPTC = 0x40bc;
    static final int TORL = 0x40c0;
    static final int TORH = 0x40c4;
    static final int TOTL = 0x40c8;
    static final int TOTH = 0x40cc;
    static final int TPR = 0x40d0;
    static final int TPT = 0x40d4;
    static final int PTC64 = 0x40d8;
    static final int PTC127 = 0x40dc;
    static final int PTC255 = 0x40e0;
    static final int PTC511 = 0x40e4;
    static final int PTC1023 = 0x40e8;
    static final int PTC1522 = 0x40ec;
    static final int MPTC = 0x40f0;
    static final int BPTC = 0x40f4;
    static final int TSCTC = 0x40f8;
    static final int TSCTFC = 0x40fc;
    static final int MTA = 0x5200;
    static final int RA = 0x5400;
    static final int VFTA = 0x5600;
    static final int WUC = 0x5800;
    static final int WUFC = 0x5808;
    static final int WUS = 0x5810;
    static final int MANC = 0x5820;
    static final int IPAV = 0x5838;
    static final int IP4AT = 0x5840;
    static final int IP6AT = 0x5880;
    static final int WUPM = 0x5a00;
    static final int SWSM = 0x5b50;
    static final int FFLT = 0x5f00;
    static final int FFMT = 0x9000;
    static final int FFVT = 0x9800;
    static final int PBM = 0x10000;

    /** Entries of the multicast table array, VLAN filter table and receive address pairs. */
    static final int MTA_SIZE = 128;
    static final int VFTA_SIZE = 128;
    static final int RA_WORDS = 32;

    // 13.4.1 CTRL
    static final int CTRL_SLU = 0x40;
    static final int CTRL_SPD_1000 = 0x200;
    static final int CTRL_SWDPIN0 = 0x40000;
    static final int CTRL_SWDPIN2 = 0x100000;
    static final int CTRL_RST = 0x04000000;
    static final int CTRL_VME = 0x40000000;

    // 13.4.2 STATUS
    static final int STATUS_FD = 0x1;
    static final int STATUS_LU = 0x2;
    static final int STATUS_SPEED_1000 = 0x80;
    static final int STATUS_ASDV = 0x300;
    static final int STATUS_MTXCKOK = 0x400;
    static final int STATUS_GIO_MASTER_ENABLE = 0x80000;

    // 13.4.17 ICR / ICS / IMS / IMC causes
    static final int ICR_TXDW = 0x1;
    static final int ICR_TXQE = 0x2;
    static final int ICR_LSC = 0x4;
    static final int ICR_RXDMT0 = 0x10;
    static final int ICR_RXO = 0x40;
    static final int ICR_RXT0 = 0x80;
    static final int ICR_MDAC = 0x200;

    // 13.4.22 RCTL
    static final int RCTL_EN = 0x2;
    static final int RCTL_SBP = 0x4;
    static final int RCTL_UPE = 0x8;
    static final int RCTL_MPE = 0x10;
    static final int RCTL_LPE = 0x20;
    static final int RCTL_RDMTS_QUAT = 0x100;
    static final int RCTL_MO_SHIFT = 12;
    static final int RCTL_BAM = 0x8000;
    static final int RCTL_SZ_1024 = 0x10000;
    static final int RCTL_SZ_512 = 0x20000;
    static final int RCTL_SZ_256 = 0x30000;
    static final int RCTL_VFE = 0x40000;
    static final int RCTL_BSEX = 0x2000000;
    static final int RCTL_SECRC = 0x4000000;

    // 13.4.33 TCTL
    static final int TCTL_EN = 0x2;

    // 13.4.3 EECD
    static final int EECD_SK = 0x1;
    static final int EECD_CS = 0x2;
    static final int EECD_DI = 0x4;
    static final int EECD_DO = 0x8;
    static final int EECD_FWE_MASK = 0x30;
    static final int EECD_REQ = 0x40;
    static final int EECD_GNT = 0x80;
    static final int EECD_PRES = 0x100;

    // 13.4.4 EERD
    static final int EERD_START = 0x1;
    static final int EERD_DONE = 0x10;
    static final int EERD_ADDR_SHIFT = 8;
    static final int EERD_DATA_SHIFT = 16;

    // 13.4.6 MDIC
    static final int MDIC_DATA_MASK = 0xffff;
    static final int MDIC_REG_MASK = 0x1f0000;
    static final int MDIC_REG_SHIFT = 16;
    static final int MDIC_PHY_MASK = 0x3e00000;
    static final int MDIC_PHY_SHIFT = 21;
    static final int MDIC_OP_WRITE = 0x4000000;
    static final int MDIC_OP_READ = 0x8000000;
    static final int MDIC_READY = 0x10000000;
    static final int MDIC_INT_EN = 0x20000000;
    static final int MDIC_ERROR = 0x40000000;

    // 13.5.1 RAH
    static final int RAH_AV = 0x80000000;

    // 13.8.27 MANC
    static final int MANC_RMCP_EN = 0x100;
    static final int MANC_ARP_EN = 0x2000;
    static final int MANC_0298_EN = 0x200;
    static final int MANC_RCV_TCO_EN = 0x20000;
    static final int MANC_EN_MNG2HOST = 0x200000;

    // 3.3 transmit descriptors: TDESC.CMD, DTYP, POPTS and STA
    static final int TXD_CMD_EOP = 0x01000000;
    static final int TXD_CMD_RS = 0x08000000;
    static final int TXD_CMD_RPS = 0x10000000;
    static final int TXD_CMD_DEXT = 0x20000000;
    static final int TXD_CMD_VLE = 0x40000000;
    static final int TXD_CMD_IDE = 0x80000000;
    static final int TXD_DTYP_D = 0x00100000;
    static final int TXD_CMD_TCP = 0x01000000;
    static final int TXD_CMD_IP = 0x02000000;
    static final int TXD_CMD_TSE = 0x04000000;
    static final int TXD_STAT_DD = 0x1;
    static final int TXD_STAT_EC = 0x2;
    static final int TXD_STAT_LC = 0x4;
    static final int TXD_STAT_TU = 0x8;
    static final int TXD_POPTS_IXSM = 0x1;
    static final int TXD_POPTS_TXSM = 0x2;

    // 3.2.3 receive descriptor status
    static final int RXD_STAT_DD = 0x1;
    static final int RXD_STAT_EOP = 0x2;
    static final int RXD_STAT_IXSM = 0x4;
    static final int RXD_STAT_VP = 0x8;

    /** Both descriptor kinds are 16 bytes. */
    static final int DESC_SIZE = 16;
    /** 802.1Q tag protocol identifier, VET's value after reset with init-vet. */
    static final int ETH_P_VLAN = 0x8100;

    /** Word index of a byte offset in the register file. */
    static int w(int offset) {
        return offset >> 2;
    }
}
