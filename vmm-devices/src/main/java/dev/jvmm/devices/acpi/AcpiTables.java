package dev.jvmm.devices.acpi;

import dev.jvmm.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * ACPI 6.4 section 5.2 system description tables as QEMU 7.2 builds them for its pc (i440FX/PIIX4)
 * machine: an RSDP revision 0 pointing at an RSDT (FADT, MADT), a revision 1 FADT (QEMU keeps rev 1 on
 * pc for old guests, so there is no RESET_REG), a 64-byte FACS, a MADT and a DSDT in AML. OEM fields
 * are QEMU's ("BOCHS ", "BXPC    ", creator "BXPC").
 */
public final class AcpiTables {
    /** Section 5.2.6 common header length and field offsets. */
    public static final int HEADER_LENGTH = 36;
    public static final int HEADER_LENGTH_OFFSET = 4;
    public static final int HEADER_REVISION = 8;
    public static final int HEADER_CHECKSUM = 9;
    public static final String OEM_ID = "BOCHS ";
    public static final String OEM_TABLE_ID = "BXPC    ";
    public static final String CREATOR_ID = "BXPC";

    /** Section 5.2.5.3 RSDP (ACPI 1.0 layout). */
    public static final int RSDP_LENGTH = 20;
    public static final int RSDP_CHECKSUM = 8;
    public static final int RSDP_RSDT_ADDRESS = 16;

    /** Section 5.2.9 FADT offsets (ACPI 1.0 layout, 116 bytes). */
    public static final int FADT_REVISION = 1;
    public static final int FADT_LENGTH = 116;
    public static final int FADT_FIRMWARE_CTRL = 36;
    public static final int FADT_DSDT = 40;
    public static final int FADT_INT_MODEL = 44;
    public static final int FADT_SCI_INT = 46;
    public static final int FADT_SMI_CMD = 48;
    public static final int FADT_ACPI_ENABLE = 52;
    public static final int FADT_ACPI_DISABLE = 53;
    public static final int FADT_PM1A_EVT_BLK = 56;
    public static final int FADT_PM1A_CNT_BLK = 64;
    public static final int FADT_PM_TMR_BLK = 76;
    public static final int FADT_GPE0_BLK = 80;
    public static final int FADT_PM1_EVT_LEN = 88;
    public static final int FADT_PM1_CNT_LEN = 89;
    public static final int FADT_PM_TMR_LEN = 91;
    public static final int FADT_GPE0_BLK_LEN = 92;
    public static final int FADT_P_LVL2_LAT = 96;
    public static final int FADT_P_LVL3_LAT = 98;
    public static final int FADT_CENTURY = 108;
    public static final int FADT_FLAGS = 112;
    // Section 5.2.9 table 5.10 fixed feature flags (the ones QEMU sets).
    public static final int WBINVD = 1 << 0;
    public static final int PROC_C1 = 1 << 2;
    public static final int SLP_BUTTON = 1 << 5;
    public static final int RTC_S4 = 1 << 7;
    public static final int USE_PLATFORM_CLOCK = 1 << 15;
    public static final int FORCE_APIC_CLUSTER_MODEL = 1 << 18;
    /** QEMU's RTC century byte in CMOS. */
    public static final int RTC_CENTURY = 0x32;

    /** Section 5.2.10 FACS. */
    public static final int FACS_LENGTH = 64;
    public static final int FACS_FIRMWARE_WAKING_VECTOR = 12;
    public static final int FACS_ALIGNMENT = 64;

    /** Section 5.2.12 MADT. */
    public static final int MADT_REVISION = 1;
    public static final long LOCAL_APIC_ADDRESS = 0xfee00000L;
    public static final int PCAT_COMPAT = 1;
    public static final int MADT_TYPE_LOCAL_APIC = 0;
    public static final int MADT_TYPE_IO_APIC = 1;
    public static final int MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE = 2;
    public static final int MADT_TYPE_LOCAL_APIC_NMI = 4;
    public static final int LOCAL_APIC_ENABLED = 1;
    /** MPS INTI flags: active high (01) and level-triggered (11 << 2). */
    public static final int MPS_INTI_ACTIVE_HIGH_LEVEL = 0x0d;
    /** QEMU's PCI_ISA_IRQ_MASK: ISA IRQs that PCI may share, declared level/active-high. */
    public static final int PCI_ISA_IRQ_MASK = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 11);
    public static final int IOAPIC_ID = 0;

    public static final int DSDT_REVISION = 1;
    /** The default home of the tables: the e820-reserved BIOS area, scanned by guests for the RSDP. */
    public static final long BIOS_AREA_START = 0xf0000;
    public static final long BIOS_AREA_END = 0x100000;

    private AcpiTables() {
    }

    /** Section 5.2.5.3: RSDP revision 0 with the RSDT address and checksum. */
    public static byte[] rsdp(long rsdtAddress) {
        ByteBuffer b = le(RSDP_LENGTH);
        b.put(ascii("RSD PTR ", 8)).put((byte) 0).put(ascii(OEM_ID, 6)).put((byte) 0).putInt((int) rsdtAddress);
        byte[] r = b.array();
        r[RSDP_CHECKSUM] = checksumByte(r, 0, RSDP_LENGTH);
        return r;
    }

    /** Section 5.2.7: RSDT with 32-bit table pointers. */
    public static byte[] rsdt(List<Long> tables) {
        ByteBuffer b = header("RSDT", 1, HEADER_LENGTH + 4 * tables.size());
        for (long t : tables) {
            b.putInt((int) t);
        }
        return finish(b);
    }

    /** Section 5.2.9: the FADT QEMU 7.2 builds for pc (revision 1). */
    public static byte[] fadt(AcpiConfig cfg, long facsAddress, long dsdtAddress) {
        ByteBuffer b = header("FACP", FADT_REVISION, FADT_LENGTH);
        b.putInt(FADT_FIRMWARE_CTRL, (int) facsAddress);
        b.putInt(FADT_DSDT, (int) dsdtAddress);
        b.put(FADT_INT_MODEL, (byte) 1); // multiple APIC
        b.putShort(FADT_SCI_INT, (short) Piix4Pm.SCI_IRQ);
        if (cfg.smiCommand()) {
            b.putInt(FADT_SMI_CMD, Piix4Pm.APM_CNT);
            b.put(FADT_ACPI_ENABLE, (byte) Piix4Pm.ACPI_ENABLE);
            b.put(FADT_ACPI_DISABLE, (byte) Piix4Pm.ACPI_DISABLE);
        }
        b.putInt(FADT_PM1A_EVT_BLK, cfg.pmBase() + Piix4Pm.PM1_STS);
        b.putInt(FADT_PM1A_CNT_BLK, cfg.pmBase() + Piix4Pm.PM1_CNT);
        b.putInt(FADT_PM_TMR_BLK, cfg.pmBase() + Piix4Pm.PM_TMR);
        b.putInt(FADT_GPE0_BLK, Piix4Pm.GPE0_BASE);
        b.put(FADT_PM1_EVT_LEN, (byte) 4);
        b.put(FADT_PM1_CNT_LEN, (byte) 2);
        b.put(FADT_PM_TMR_LEN, (byte) 4);
        b.put(FADT_GPE0_BLK_LEN, (byte) Piix4Pm.GPE0_LENGTH);
        // C2 and C3 are not supported (latencies above 100 and 1000 us).
        b.putShort(FADT_P_LVL2_LAT, (short) 0xfff);
        b.putShort(FADT_P_LVL3_LAT, (short) 0xfff);
        b.put(FADT_CENTURY, (byte) RTC_CENTURY);
        int flags = WBINVD | PROC_C1 | SLP_BUTTON | RTC_S4 | USE_PLATFORM_CLOCK;
        if (cfg.apicIds().size() > 8) {
            // Flat logical destination mode addresses at most 8 CPUs.
            flags |= FORCE_APIC_CLUSTER_MODEL;
        }
        b.putInt(FADT_FLAGS, flags);
        return finish(b);
    }

    /** WAET (Microsoft's Windows ACPI Emulated Devices Table): flags field after the header. */
    public static final int WAET_EMULATED_DEVICE_FLAGS = 36;
    /** WAET flag bit 1: the ACPI PM timer reads are reliable, so the OS needs no workaround. */
    public static final int WAET_PM_TIMER_GOOD = 1 << 1;

    /** The WAET QEMU 7.2 adds to every pc machine's RSDT. */
    public static byte[] waet() {
        ByteBuffer b = header("WAET", 1, HEADER_LENGTH + 4);
        b.putInt(WAET_EMULATED_DEVICE_FLAGS, WAET_PM_TIMER_GOOD);
        return finish(b);
    }

    /** Section 5.2.10: FACS, all zero but signature and length; the guest fills the waking vector. */
    public static byte[] facs() {
        ByteBuffer b = le(FACS_LENGTH);
        b.put(ascii("FACS", 4)).putInt(FACS_LENGTH);
        return b.array();
    }

    /** Section 5.2.12: local APICs (one per possible vCPU), the IOAPIC, QEMU's interrupt source overrides and LINT1 NMI. */
    public static byte[] madt(AcpiConfig cfg) {
        int isoCount = 1 + Integer.bitCount(PCI_ISA_IRQ_MASK);
        List<Integer> possible = cfg.possibleApicIds();
        int length = HEADER_LENGTH + 8 + 8 * possible.size() + 12 + 10 * isoCount + 6;
        ByteBuffer b = header("APIC", MADT_REVISION, length);
        b.putInt((int) LOCAL_APIC_ADDRESS).putInt(PCAT_COMPAT);
        // every possible vCPU has its entry, enabled only if present (QEMU's pc_madt_cpu_entry)
        for (int i = 0; i < possible.size(); i++) {
            b.put((byte) MADT_TYPE_LOCAL_APIC).put((byte) 8).put((byte) i).put((byte) (int) possible.get(i))
                    .putInt(i < cfg.apicIds().size() ? LOCAL_APIC_ENABLED : 0);
        }
        b.put((byte) MADT_TYPE_IO_APIC).put((byte) 12).put((byte) IOAPIC_ID).put((byte) 0)
                .putInt((int) AcpiConfig.IOAPIC_ADDRESS).putInt(0);
        // The PIT's IRQ 0 is wired to IOAPIC pin 2; conforming polarity and trigger.
        interruptSourceOverride(b, 0, 2, 0);
        for (int irq = 1; irq < 16; irq++) {
            if ((PCI_ISA_IRQ_MASK & (1 << irq)) != 0) {
                interruptSourceOverride(b, irq, irq, MPS_INTI_ACTIVE_HIGH_LEVEL);
            }
        }
        // NMI on LINT1 of every processor (uid 0xff), conforming flags.
        b.put((byte) MADT_TYPE_LOCAL_APIC_NMI).put((byte) 6).put((byte) 0xff).putShort((short) 0).put((byte) 1);
        return finish(b);
    }

    private static void interruptSourceOverride(ByteBuffer b, int source, int gsi, int flags) {
        b.put((byte) MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE).put((byte) 10).put((byte) 0).put((byte) source)
                .putInt(gsi).putShort((short) flags);
    }

    /** Section 5.2.11.1: the DSDT with its AML body. */
    public static byte[] dsdt(AcpiConfig cfg) {
        byte[] aml = dsdtAml(cfg);
        ByteBuffer b = header("DSDT", DSDT_REVISION, HEADER_LENGTH + aml.length);
        b.put(aml);
        return finish(b);
    }

    /** The DSDT's term list: QEMU 7.2's for the pc machine ({@link Dsdt}). */
    static byte[] dsdtAml(AcpiConfig cfg) {
        return Dsdt.aml(cfg);
    }

    /**
     * Writes the tables into [base, limit) of guest RAM: FACS first (64-byte aligned), then DSDT, FADT, MADT,
     * HPET (with the HPET), SRAT (with a NUMA node), WAET, RSDT, and the RSDP last on a 16-byte boundary. The default range is the BIOS
     * area
     * ({@link #BIOS_AREA_START}..{@link #BIOS_AREA_END}), where guests scan for "RSD PTR ".
     *
     * @throws IllegalArgumentException if the tables do not fit or the range is not RAM
     */
    public static AcpiLayout install(GuestMemory mem, AcpiConfig cfg, long base, long limit) {
        long facs = align(base, FACS_ALIGNMENT);
        long dsdtAddr = align(facs + FACS_LENGTH, 16);
        byte[] dsdt = dsdt(cfg);
        long fadtAddr = align(dsdtAddr + dsdt.length, 16);
        byte[] fadt = fadt(cfg, facs, dsdtAddr);
        long madtAddr = align(fadtAddr + fadt.length, 16);
        byte[] madt = madt(cfg);
        byte[] hpet = cfg.hpet() ? HpetAcpi.table() : new byte[0];
        long hpetAddr = align(madtAddr + madt.length, 16);
        byte[] srat = cfg.srat() != null ? cfg.srat().table(cfg.possibleApicIds()) : new byte[0];
        long sratAddr = align(hpetAddr + hpet.length, 16);
        long waetAddr = align(sratAddr + srat.length, 16);
        byte[] waet = waet();
        long rsdtAddr = align(waetAddr + waet.length, 16);
        // QEMU's order (FACP APIC [HPET] [SRAT] WAET); the HPET table only with the HPET, the SRAT with a node.
        List<Long> pointers = new java.util.ArrayList<>(List.of(fadtAddr, madtAddr));
        if (cfg.hpet()) {
            pointers.add(hpetAddr);
        }
        if (srat.length > 0) {
            pointers.add(sratAddr);
        }
        pointers.add(waetAddr);
        byte[] rsdt = rsdt(pointers);
        long rsdpAddr = align(rsdtAddr + rsdt.length, 16);
        long end = rsdpAddr + RSDP_LENGTH;
        if (end > limit || limit > 0x100000000L || !mem.contains(base, end - base)) {
            throw new IllegalArgumentException(String.format(
                    "ACPI tables need 0x%x..0x%x, which is not RAM below the limit 0x%x", base, end, limit));
        }
        mem.zero(base, end - base);
        mem.write(facs, facs(), 0, FACS_LENGTH);
        mem.write(dsdtAddr, dsdt, 0, dsdt.length);
        mem.write(fadtAddr, fadt, 0, fadt.length);
        mem.write(madtAddr, madt, 0, madt.length);
        if (cfg.hpet()) {
            mem.write(hpetAddr, hpet, 0, hpet.length);
        }
        if (srat.length > 0) {
            mem.write(sratAddr, srat, 0, srat.length);
        }
        mem.write(waetAddr, waet, 0, waet.length);
        mem.write(rsdtAddr, rsdt, 0, rsdt.length);
        mem.write(rsdpAddr, rsdp(rsdtAddr), 0, RSDP_LENGTH);
        return new AcpiLayout(rsdpAddr, rsdtAddr, fadtAddr, facs, dsdtAddr, madtAddr, end);
    }

    /**
     * The fw_cfg files QEMU 7.2 gives SeaBIOS for these tables ("etc/acpi/tables", "etc/acpi/rsdp",
     * "etc/table-loader"): FACS, DSDT, FADT, MADT, WAET and RSDT back to back, as acpi_build lays them out.
     */
    public static AcpiFirmwareFiles firmwareFiles(AcpiConfig cfg) {
        List<byte[]> others = new java.util.ArrayList<>(List.of(madt(cfg)));
        if (cfg.hpet()) {
            others.add(HpetAcpi.table());
        }
        if (cfg.srat() != null) {
            others.add(cfg.srat().table(cfg.possibleApicIds()));
        }
        others.add(waet());
        return AcpiFirmwareFiles.build(dsdt(cfg), fadt(cfg, 0, FACS_LENGTH), others);
    }

    /** {@link #install(GuestMemory, AcpiConfig, long, long)} into the BIOS area. */
    public static AcpiLayout install(GuestMemory mem, AcpiConfig cfg) {
        return install(mem, cfg, BIOS_AREA_START, BIOS_AREA_END);
    }

    /** Section 5.2.6: the byte that makes all bytes of [off, off+len) sum to zero. */
    public static byte checksumByte(byte[] data, int off, int len) {
        int sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += data[i];
        }
        return (byte) -sum;
    }

    public static int sum(byte[] data, int off, int len) {
        int sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += data[i];
        }
        return sum & 0xff;
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }

    private static ByteBuffer le(int length) {
        return ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    }

    static ByteBuffer header(String signature, int revision, int length) {
        ByteBuffer b = le(length);
        b.put(ascii(signature, 4)).putInt(length).put((byte) revision).put((byte) 0)
                .put(ascii(OEM_ID, 6)).put(ascii(OEM_TABLE_ID, 8)).putInt(1)
                .put(ascii(CREATOR_ID, 4)).putInt(1);
        return b;
    }

    static byte[] finish(ByteBuffer b) {
        byte[] r = b.array();
        r[HEADER_CHECKSUM] = checksumByte(r, 0, r.length);
        return r;
    }

    private static byte[] ascii(String s, int n) {
        byte[] src = s.getBytes(StandardCharsets.US_ASCII);
        byte[] r = new byte[n];
        System.arraycopy(src, 0, r, 0, Math.min(n, src.length));
        return r;
    }
}
