package dev.jvmm.core.vmstate;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes one section's fields. Every field is a type tag, a name and a value, so a reader can check each
 * one against what it expects and a tool can print a section it has no code for. Groups nest fields (a list
 * of queues, a port's FIFO) and carry an element count where they stand for a list.
 */
public final class StateWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);
    private int depth;

    public StateWriter bool(String name, boolean v) {
        return field(FieldType.BOOL, name, () -> out.writeBoolean(v));
    }

    public StateWriter u8(String name, int v) {
        return field(FieldType.U8, name, () -> out.writeByte(v));
    }

    public StateWriter u16(String name, int v) {
        return field(FieldType.U16, name, () -> out.writeShort(v));
    }

    public StateWriter u32(String name, int v) {
        return field(FieldType.U32, name, () -> out.writeInt(v));
    }

    public StateWriter u64(String name, long v) {
        return field(FieldType.U64, name, () -> out.writeLong(v));
    }

    public StateWriter bytes(String name, byte[] v) {
        return bytes(name, v, 0, v.length);
    }

    public StateWriter bytes(String name, byte[] v, int offset, int length) {
        return field(FieldType.BYTES, name, () -> {
            out.writeInt(length);
            out.write(v, offset, length);
        });
    }

    /** A string; null is written as absent and read back as null. */
    public StateWriter str(String name, String v) {
        return field(FieldType.STRING, name, () -> {
            out.writeBoolean(v != null);
            if (v != null) {
                out.writeUTF(v);
            }
        });
    }

    /** Opens a group of count elements (1 for a plain group); close it with {@link #end}. */
    public StateWriter begin(String name, int count) {
        field(FieldType.GROUP_START, name, () -> out.writeInt(count));
        depth++;
        return this;
    }

    public StateWriter begin(String name) {
        return begin(name, 1);
    }

    public StateWriter end() {
        if (depth == 0) {
            throw new IllegalStateException("end() without begin()");
        }
        depth--;
        try {
            out.writeByte(FieldType.GROUP_END.ordinal());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** The section's payload. */
    public byte[] toByteArray() {
        if (depth != 0) {
            throw new IllegalStateException(depth + " group(s) left open");
        }
        return bytes.toByteArray();
    }

    private interface Body {
        void write() throws IOException;
    }

    private StateWriter field(FieldType t, String name, Body body) {
        try {
            out.writeByte(t.ordinal());
            out.writeUTF(name);
            body.write();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
