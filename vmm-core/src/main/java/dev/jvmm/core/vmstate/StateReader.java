package dev.jvmm.core.vmstate;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads one section strictly: each call names the field it expects and its type, and anything else (another
 * name, another type, a missing field, bytes left over at {@link #finish}) is a {@link StateException}
 * naming the section and the field. Configuration checks ({@code expect...}) refuse state saved on a machine
 * built differently.
 */
public final class StateReader {
    private final String section;
    private final DataInputStream in;
    private final int length;
    private int depth;

    public StateReader(String section, byte[] payload) {
        this.section = section;
        this.length = payload.length;
        this.in = new DataInputStream(new ByteArrayInputStream(payload));
    }

    public String section() {
        return section;
    }

    public boolean bool(String name) throws StateException {
        header(FieldType.BOOL, name);
        return io(in::readBoolean);
    }

    public int u8(String name) throws StateException {
        header(FieldType.U8, name);
        return io(in::readUnsignedByte);
    }

    public int u16(String name) throws StateException {
        header(FieldType.U16, name);
        return io(in::readUnsignedShort);
    }

    public int u32(String name) throws StateException {
        header(FieldType.U32, name);
        return io(in::readInt);
    }

    public long u64(String name) throws StateException {
        header(FieldType.U64, name);
        return io(in::readLong);
    }

    /** A u8, u16 or u32 that must lie in [min, max] (signed), else {@link #invalid}. */
    public int u32(String name, int min, int max) throws StateException {
        return (int) check(name, u32(name), min, max);
    }

    public int u8(String name, int max) throws StateException {
        return (int) check(name, u8(name), 0, max);
    }

    public int u16(String name, int max) throws StateException {
        return (int) check(name, u16(name), 0, max);
    }

    /** A u64 read as a signed long that must lie in [min, max], else {@link #invalid}. */
    public long u64(String name, long min, long max) throws StateException {
        return check(name, u64(name), min, max);
    }

    private long check(String name, long v, long min, long max) throws StateException {
        if (v < min || v > max) {
            throw invalid(name, v + " is outside " + min + ".." + max);
        }
        return v;
    }

    public byte[] bytes(String name) throws StateException {
        header(FieldType.BYTES, name);
        int n = io(in::readInt);
        if (n < 0 || n > length) {
            throw error("field '" + name + "' has a bad length " + n);
        }
        byte[] b = new byte[n];
        io(() -> {
            in.readFully(b);
            return null;
        });
        return b;
    }

    /** Reads a byte field into dst, which must have exactly the saved length. */
    public void bytes(String name, byte[] dst) throws StateException {
        byte[] b = bytes(name);
        if (b.length != dst.length) {
            throw mismatch(name, b.length + " bytes", dst.length + " bytes");
        }
        System.arraycopy(b, 0, dst, 0, b.length);
    }

    public String str(String name) throws StateException {
        header(FieldType.STRING, name);
        boolean present = io(in::readBoolean);
        return present ? io(in::readUTF) : null;
    }

    /** Opens a group; returns its element count. */
    public int begin(String name) throws StateException {
        header(FieldType.GROUP_START, name);
        int n = io(in::readInt);
        if (n < 0) {
            throw error("group '" + name + "' has a bad count " + n);
        }
        depth++;
        return n;
    }

    /** Opens a group that must hold exactly count elements (a configuration check). */
    public void begin(String name, int count) throws StateException {
        int n = begin(name);
        if (n != count) {
            throw mismatch(name, n + " elements", count + " elements");
        }
    }

    public void end() throws StateException {
        FieldType t = tag(io(in::readUnsignedByte));
        if (t != FieldType.GROUP_END || depth == 0) {
            throw error("expected the end of a group, found a " + t.label() + " field");
        }
        depth--;
    }

    /** A configuration value: the saved one must equal this machine's. */
    public void expectU32(String name, int expected) throws StateException {
        int v = u32(name);
        if (v != expected) {
            throw mismatch(name, Integer.toUnsignedString(v), Integer.toUnsignedString(expected));
        }
    }

    public void expectU64(String name, long expected) throws StateException {
        long v = u64(name);
        if (v != expected) {
            throw mismatch(name, Long.toUnsignedString(v), Long.toUnsignedString(expected));
        }
    }

    public void expectBool(String name, boolean expected) throws StateException {
        boolean v = bool(name);
        if (v != expected) {
            throw mismatch(name, String.valueOf(v), String.valueOf(expected));
        }
    }

    public void expectStr(String name, String expected) throws StateException {
        String v = str(name);
        if (!java.util.Objects.equals(v, expected)) {
            throw mismatch(name, "'" + v + "'", "'" + expected + "'");
        }
    }

    public void expectBytes(String name, byte[] expected) throws StateException {
        byte[] v = bytes(name);
        if (!Arrays.equals(v, expected)) {
            throw mismatch(name, "other contents", "this machine's");
        }
    }

    /** Called after the last field: nothing may be left over. */
    public void finish() throws StateException {
        if (depth != 0) {
            throw error(depth + " group(s) not closed");
        }
        int left = io(in::available);
        if (left != 0) {
            throw error(left + " bytes of unread fields (saved by a different layout)");
        }
    }

    /** A value that is not valid for the device (out of range, inconsistent). */
    public StateException invalid(String field, String why) {
        return error("field '" + field + "' is invalid: " + why);
    }

    private StateException mismatch(String name, String saved, String here) {
        return error("configuration mismatch: '" + name + "' is " + saved + " in the saved state, " + here
                + " here");
    }

    private StateException error(String what) {
        return new StateException("section '" + section + "': " + what);
    }

    private void header(FieldType type, String name) throws StateException {
        FieldType t = tag(io(in::readUnsignedByte));
        if (t == FieldType.GROUP_END) {
            throw error("expected field '" + name + "', found the end of a group");
        }
        String n = io(in::readUTF);
        if (!n.equals(name) || t != type) {
            throw error("expected field '" + name + "' (" + type.label() + "), found '" + n + "' (" + t.label()
                    + ")");
        }
    }

    private FieldType tag(int tag) throws StateException {
        try {
            return FieldType.of(tag);
        } catch (StateException e) {
            throw error(e.getMessage());
        }
    }

    private interface Read<T> {
        T read() throws IOException;
    }

    private <T> T io(Read<T> r) throws StateException {
        try {
            return r.read();
        } catch (EOFException e) {
            throw error("truncated");
        } catch (IOException e) {
            throw error(e.getMessage());
        }
    }
}
