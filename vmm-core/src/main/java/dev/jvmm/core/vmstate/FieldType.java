package dev.jvmm.core.vmstate;

/** The type tag written before every field, which makes a section readable without the device's code. */
public enum FieldType {
    BOOL, U8, U16, U32, U64, BYTES, STRING, GROUP_START, GROUP_END;

    static FieldType of(int tag) throws StateException {
        if (tag < 0 || tag >= values().length) {
            throw new StateException("unknown field type tag " + tag);
        }
        return values()[tag];
    }

    String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
