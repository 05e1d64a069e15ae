package dev.jvmm.devices.acpi;

import static dev.jvmm.devices.acpi.Aml.concat;
import static dev.jvmm.devices.acpi.Aml.withPkgLength;

/**
 * ACPI 6.4 section 20.2.5 expression and statement opcodes for DSDT methods, with the explicit targets the
 * AML encodes (a "null target" is {@link #NULL_TARGET}): locals, arguments, arithmetic, logic, control flow,
 * Notify, mutexes, operation regions and fields, Processor. Like {@link Aml}, every method returns the
 * encoded bytes.
 */
public final class AmlOps {
    static final int LOCAL0_OP = 0x60;
    static final int ARG0_OP = 0x68;
    static final int STORE_OP = 0x70;
    static final int ADD_OP = 0x72;
    static final int SUBTRACT_OP = 0x74;
    static final int INCREMENT_OP = 0x75;
    static final int SHIFT_LEFT_OP = 0x79;
    static final int SHIFT_RIGHT_OP = 0x7a;
    static final int AND_OP = 0x7b;
    static final int OR_OP = 0x7d;
    static final int DEREF_OF_OP = 0x83;
    static final int NOTIFY_OP = 0x86;
    static final int SIZE_OF_OP = 0x87;
    static final int INDEX_OP = 0x88;
    static final int CREATE_DWORD_FIELD_OP = 0x8a;
    static final int LAND_OP = 0x90;
    static final int LOR_OP = 0x91;
    static final int LNOT_OP = 0x92;
    static final int LEQUAL_OP = 0x93;
    static final int LGREATER_OP = 0x94;
    static final int LLESS_OP = 0x95;
    static final int TO_BUFFER_OP = 0x96;
    static final int TO_HEX_STRING_OP = 0x98;
    static final int IF_OP = 0xa0;
    static final int ELSE_OP = 0xa1;
    static final int WHILE_OP = 0xa2;
    static final int BREAK_OP = 0xa5;
    // Extended opcodes after the 0x5b prefix.
    static final int MUTEX_OP = 0x01;
    static final int ACQUIRE_OP = 0x23;
    static final int RELEASE_OP = 0x27;
    static final int DEBUG_OP = 0x31;
    static final int OP_REGION_OP = 0x80;
    static final int FIELD_OP = 0x81;
    static final int PROCESSOR_OP = 0x83;

    /** Section 20.2.2 Target: a NullName, where the result is only returned. */
    public static final byte[] NULL_TARGET = {Aml.NULL_NAME};
    /** Section 19.6.2 Acquire timeout meaning "wait forever". */
    public static final int WAIT_FOREVER = 0xffff;

    /** Section 5.5.2.4 region spaces. */
    public static final int SYSTEM_MEMORY = 0;
    public static final int SYSTEM_IO = 1;
    public static final int PCI_CONFIG = 2;
    /** Section 19.6.48 FieldFlags: access type in bits 0-3, lock bit 4, update rule in bits 5-6. */
    public static final int BYTE_ACC = 1;
    public static final int DWORD_ACC = 3;
    public static final int LOCK = 0x10;
    public static final int PRESERVE = 0x00;
    public static final int WRITE_AS_ZEROS = 0x40;

    private AmlOps() {
    }

    public static byte[] local(int n) {
        return new byte[] {(byte) (LOCAL0_OP + n)};
    }

    public static byte[] arg(int n) {
        return new byte[] {(byte) (ARG0_OP + n)};
    }

    /** The Debug object. */
    public static byte[] debug() {
        return new byte[] {Aml.EXT_OP_PREFIX, DEBUG_OP};
    }

    static byte[] op(int opcode, byte[]... operands) {
        return concat(new byte[] {(byte) opcode}, concat(operands));
    }

    private static byte[] extOp(int opcode, byte[]... operands) {
        return concat(new byte[] {Aml.EXT_OP_PREFIX, (byte) opcode}, concat(operands));
    }

    public static byte[] store(byte[] value, byte[] target) {
        return op(STORE_OP, value, target);
    }

    public static byte[] add(byte[] a, byte[] b, byte[] target) {
        return op(ADD_OP, a, b, target);
    }

    public static byte[] subtract(byte[] a, byte[] b, byte[] target) {
        return op(SUBTRACT_OP, a, b, target);
    }

    public static byte[] increment(byte[] target) {
        return op(INCREMENT_OP, target);
    }

    public static byte[] shiftLeft(byte[] a, byte[] count, byte[] target) {
        return op(SHIFT_LEFT_OP, a, count, target);
    }

    public static byte[] shiftRight(byte[] a, byte[] count, byte[] target) {
        return op(SHIFT_RIGHT_OP, a, count, target);
    }

    public static byte[] and(byte[] a, byte[] b, byte[] target) {
        return op(AND_OP, a, b, target);
    }

    public static byte[] or(byte[] a, byte[] b, byte[] target) {
        return op(OR_OP, a, b, target);
    }

    public static byte[] derefOf(byte[] ref) {
        return op(DEREF_OF_OP, ref);
    }

    public static byte[] index(byte[] source, byte[] idx, byte[] target) {
        return op(INDEX_OP, source, idx, target);
    }

    public static byte[] sizeOf(byte[] obj) {
        return op(SIZE_OF_OP, obj);
    }

    public static byte[] toBuffer(byte[] obj, byte[] target) {
        return op(TO_BUFFER_OP, obj, target);
    }

    public static byte[] toHexString(byte[] obj, byte[] target) {
        return op(TO_HEX_STRING_OP, obj, target);
    }

    public static byte[] land(byte[] a, byte[] b) {
        return op(LAND_OP, a, b);
    }

    public static byte[] lor(byte[] a, byte[] b) {
        return op(LOR_OP, a, b);
    }

    public static byte[] lnot(byte[] a) {
        return op(LNOT_OP, a);
    }

    public static byte[] lequal(byte[] a, byte[] b) {
        return op(LEQUAL_OP, a, b);
    }

    public static byte[] lgreater(byte[] a, byte[] b) {
        return op(LGREATER_OP, a, b);
    }

    public static byte[] lless(byte[] a, byte[] b) {
        return op(LLESS_OP, a, b);
    }

    public static byte[] notify(byte[] object, byte[] value) {
        return op(NOTIFY_OP, object, value);
    }

    public static byte[] breakOp() {
        return new byte[] {(byte) BREAK_OP};
    }

    /** A method invocation: its name followed by the arguments. */
    public static byte[] call(String method, byte[]... args) {
        return concat(Aml.name(method), concat(args));
    }

    public static byte[] ifThen(byte[] predicate, byte[]... terms) {
        return concat(new byte[] {(byte) IF_OP}, withPkgLength(concat(predicate, concat(terms))));
    }

    public static byte[] elseDo(byte[]... terms) {
        return concat(new byte[] {(byte) ELSE_OP}, withPkgLength(concat(terms)));
    }

    public static byte[] whileDo(byte[] predicate, byte[]... terms) {
        return concat(new byte[] {(byte) WHILE_OP}, withPkgLength(concat(predicate, concat(terms))));
    }

    public static byte[] createDWordField(byte[] buffer, byte[] byteIndex, String name) {
        return op(CREATE_DWORD_FIELD_OP, buffer, byteIndex, Aml.name(name));
    }

    public static byte[] mutex(String name, int syncLevel) {
        return extOp(MUTEX_OP, Aml.name(name), new byte[] {(byte) syncLevel});
    }

    public static byte[] acquire(String mutex, int timeout) {
        return extOp(ACQUIRE_OP, Aml.name(mutex), Aml.le(timeout, 2));
    }

    public static byte[] release(String mutex) {
        return extOp(RELEASE_OP, Aml.name(mutex));
    }

    public static byte[] operationRegion(String name, int space, long offset, long length) {
        return extOp(OP_REGION_OP, Aml.name(name), new byte[] {(byte) space}, Aml.integer(offset),
                Aml.integer(length));
    }

    /** Field(region, flags) { units }, with units from {@link #unit} and {@link #offsetTo}. */
    public static byte[] field(String region, int flags, byte[]... units) {
        return extOp(FIELD_OP, withPkgLength(concat(Aml.name(region), new byte[] {(byte) flags}, concat(units))));
    }

    /** A named field unit of this many bits. */
    public static byte[] unit(String name, int bits) {
        return concat(Aml.nameSeg(name), rawLength(bits));
    }

    /** Offset(byteOffset) inside a field list: a reserved unit of the bits from the previous unit's end. */
    public static byte[] reserved(int bits) {
        return concat(new byte[] {0}, rawLength(bits));
    }

    /** Section 20.2.4 PkgLength encoding of a value that does not count its own bytes (field widths). */
    static byte[] rawLength(int value) {
        if (value < 0x40) {
            return new byte[] {(byte) value};
        }
        if (value < 0x1000) {
            return new byte[] {(byte) (0x40 | (value & 0x0f)), (byte) (value >>> 4)};
        }
        if (value < 0x100000) {
            return new byte[] {(byte) (0x80 | (value & 0x0f)), (byte) (value >>> 4), (byte) (value >>> 12)};
        }
        return new byte[] {(byte) (0xc0 | (value & 0x0f)), (byte) (value >>> 4), (byte) (value >>> 12),
                (byte) (value >>> 20)};
    }

    /** Section 19.6.108 Processor(name, id, PBlk address, PBlk length) { terms } (deprecated, as QEMU uses). */
    public static byte[] processor(String name, int id, long pblkAddress, int pblkLength, byte[]... terms) {
        return extOp(PROCESSOR_OP, withPkgLength(concat(Aml.name(name), new byte[] {(byte) id},
                Aml.le(pblkAddress, 4), new byte[] {(byte) pblkLength}, concat(terms))));
    }

    /** A Package of count uninitialised elements (Package (n) {}). */
    public static byte[] emptyPackage(int count) {
        return concat(new byte[] {Aml.PACKAGE_OP}, withPkgLength(new byte[] {(byte) count}));
    }
}
