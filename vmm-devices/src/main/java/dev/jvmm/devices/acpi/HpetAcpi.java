package dev.jvmm.devices.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * IA-PC HPET Specification 1.0a, section 3.2.4 "The ACPI 2.0 HPET Description Table (HPET)", and the DSDT's
 * HPET device, as QEMU 7.2's pc machine builds them (hw/i386/acpi-build.c build_hpet, build_hpet_aml).
 */
public final class HpetAcpi {
    private HpetAcpi() {
    }

    /** QEMU's HPET_BASE and HPET_LEN: the block's MMIO window. */
    public static final long HPET_BASE = 0xfed00000L;
    public static final int HPET_LEN = 0x400;
    /** GCAP_ID's low dword of QEMU's block (3 timers), which QEMU writes into the table as a constant. */
    public static final int EVENT_TIMER_BLOCK_ID = 0x8086a201;
    public static final int HPET_REVISION = 1;
    /** Header, block id, the base address GAS, HPET number, minimum tick, page protection. */
    public static final int HPET_LENGTH = 36 + 4 + 12 + 1 + 2 + 1;
    /** _STA refuses a period above 100 ns (100,000,000 fs), the spec's upper limit. */
    static final long MAX_PERIOD_FS = 100_000_000L;

    /** The HPET table, checksummed, with AcpiTables' OEM fields. */
    public static byte[] table() {
        ByteBuffer b = ByteBuffer.allocate(HPET_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(ascii("HPET", 4)).putInt(HPET_LENGTH).put((byte) HPET_REVISION).put((byte) 0)
                .put(ascii(AcpiTables.OEM_ID, 6)).put(ascii(AcpiTables.OEM_TABLE_ID, 8)).putInt(1)
                .put(ascii(AcpiTables.CREATOR_ID, 4)).putInt(1);
        b.putInt(EVENT_TIMER_BLOCK_ID);
        // Generic Address Structure: system memory, register width, offset and access size 0 as QEMU.
        b.put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).putLong(HPET_BASE);
        b.put((byte) 0); // HPET number
        b.putShort((short) 0); // main counter minimum clock tick in periodic mode
        b.put((byte) 0); // page protection and OEM attribute
        byte[] r = b.array();
        r[AcpiTables.HEADER_CHECKSUM] = AcpiTables.checksumByte(r, 0, r.length);
        return r;
    }

    /**
     * Scope(_SB) { Device(HPET) }: PNP0103 with a _STA that reads the block's vendor and period and hides
     * the device when they are not plausible, and the 1 KiB window as a read-only Memory32Fixed.
     */
    public static byte[] dsdtScope() {
        byte[] local0 = {LOCAL0_OP};
        byte[] local1 = {LOCAL1_OP};
        byte[] zero = Aml.integer(0);
        byte[] sta = Aml.method("_STA", 0, false,
                op(STORE_OP, Aml.name("VEND"), local0),
                op(STORE_OP, Aml.name("PRD"), local1),
                op(SHIFT_RIGHT_OP, local0, Aml.integer(16), local0),
                ifThen(op(LOR_OP, op(LEQUAL_OP, local0, zero), op(LEQUAL_OP, local0, Aml.integer(0xffff))),
                        Aml.ret(zero)),
                ifThen(op(LOR_OP, op(LEQUAL_OP, local1, zero), op(LGREATER_OP, local1, Aml.integer(MAX_PERIOD_FS))),
                        Aml.ret(zero)),
                Aml.ret(Aml.integer(0x0f)));
        byte[] device = Aml.device("HPET",
                Aml.nameDecl("_HID", Aml.hid("PNP0103")),
                Aml.nameDecl("_UID", zero),
                operationRegion("HPTM", HPET_BASE, HPET_LEN),
                field("HPTM", "VEND", "PRD"),
                sta,
                Aml.nameDecl("_CRS", Aml.resourceTemplate(memory32FixedReadOnly(HPET_BASE, HPET_LEN))));
        return Aml.scope("_SB", device);
    }

    // AML opcodes (ACPI 6.4 section 20.2) this device's methods use.
    private static final byte LOCAL0_OP = 0x60;
    private static final byte LOCAL1_OP = 0x61;
    private static final byte STORE_OP = 0x70;
    private static final byte SHIFT_RIGHT_OP = 0x7a;
    private static final byte LOR_OP = (byte) 0x91;
    private static final byte LEQUAL_OP = (byte) 0x93;
    private static final byte LGREATER_OP = (byte) 0x94;
    private static final byte IF_OP = (byte) 0xa0;
    private static final byte EXT_OP_PREFIX = 0x5b;
    private static final byte OP_REGION_OP = (byte) 0x80;
    private static final byte FIELD_OP = (byte) 0x81;
    private static final byte SYSTEM_MEMORY = 0;
    /** FieldFlags: DWordAcc, Lock, Preserve. */
    private static final byte DWORD_ACC_LOCK_PRESERVE = 0x13;
    /** Section 6.4.3.4: 32-bit fixed memory range descriptor. */
    private static final byte MEMORY32_FIXED = (byte) 0x86;

    private static byte[] op(byte opcode, byte[]... operands) {
        return Aml.concat(new byte[] {opcode}, Aml.concat(operands));
    }

    private static byte[] ifThen(byte[] predicate, byte[]... terms) {
        return Aml.concat(new byte[] {IF_OP}, Aml.withPkgLength(Aml.concat(predicate, Aml.concat(terms))));
    }

    private static byte[] operationRegion(String name, long offset, int length) {
        return Aml.concat(new byte[] {EXT_OP_PREFIX, OP_REGION_OP}, Aml.name(name), new byte[] {SYSTEM_MEMORY},
                Aml.integer(offset), Aml.integer(length));
    }

    /** Field(region, DWordAcc, Lock, Preserve) with one 32-bit unit per name. */
    private static byte[] field(String region, String... names) {
        byte[] units = new byte[0];
        for (String n : names) {
            units = Aml.concat(units, Aml.nameSeg(n), new byte[] {32});
        }
        return Aml.concat(new byte[] {EXT_OP_PREFIX, FIELD_OP},
                Aml.withPkgLength(Aml.concat(Aml.name(region), new byte[] {DWORD_ACC_LOCK_PRESERVE}, units)));
    }

    private static byte[] memory32FixedReadOnly(long base, int length) {
        return Aml.concat(new byte[] {MEMORY32_FIXED, 9, 0, 0}, Aml.le(base, 4), Aml.le(length, 4));
    }

    private static byte[] ascii(String s, int n) {
        byte[] src = s.getBytes(StandardCharsets.US_ASCII);
        byte[] r = new byte[n];
        System.arraycopy(src, 0, r, 0, Math.min(n, src.length));
        return r;
    }
}
