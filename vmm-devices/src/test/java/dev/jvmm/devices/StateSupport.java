package dev.jvmm.devices;

import dev.jvmm.core.vmstate.MachineState;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** Device state round trips as a machine does them: saved, turned into bytes, parsed and restored. */
public final class StateSupport {
    public static final String ID = "/machine/unattached/device[0]";

    private StateSupport() {
    }

    /** Saves the devices of a (in order) and restores them into b, through the stream form. */
    public static void copy(List<? extends Saveable> a, List<? extends Saveable> b) throws StateException {
        MachineState.parse(MachineState.save(parts(a)).toByteArray()).restore(parts(b));
    }

    public static void copy(Saveable a, Saveable b) throws StateException {
        copy(List.of(a), List.of(b));
    }

    private static List<MachineState.Part> parts(List<? extends Saveable> devices) {
        List<MachineState.Part> out = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            out.add(new MachineState.Part("/machine/unattached/device[" + i + "]",
                    devices.get(i).getClass().getSimpleName(), devices.get(i)));
        }
        return out;
    }

    public static byte[] save(Saveable s) {
        StateWriter w = new StateWriter();
        s.saveState(w);
        return w.toByteArray();
    }

    /** The message with which target refuses payload as its section {@link #ID}. */
    public static String refusal(Saveable target, byte[] payload) {
        return assertThrows(StateException.class, () -> {
            StateReader r = new StateReader(ID, payload);
            target.loadState(r);
            r.finish();
        }).getMessage();
    }

    /** A payload rewritten field by field, the one named replaced by what edit writes (a crafted section). */
    public static byte[] edit(byte[] payload, String field, java.util.function.Consumer<StateWriter> replacement) {
        try {
            java.io.DataInputStream in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(payload));
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            boolean done = false;
            while (in.available() > 0) {
                int start = payload.length - in.available();
                int tag = in.readUnsignedByte();
                if (tag == 8) { // GROUP_END: no name
                    out.write(tag);
                    continue;
                }
                String name = in.readUTF();
                switch (tag) {
                    case 0, 1 -> in.skipBytes(1);
                    case 2 -> in.skipBytes(2);
                    case 3, 7 -> in.skipBytes(4);
                    case 4 -> in.skipBytes(8);
                    case 5 -> in.skipBytes(in.readInt());
                    case 6 -> {
                        if (in.readBoolean()) {
                            in.readUTF();
                        }
                    }
                    default -> throw new IllegalArgumentException("tag " + tag);
                }
                int end = payload.length - in.available();
                if (!done && name.equals(field)) {
                    StateWriter w = new StateWriter();
                    replacement.accept(w);
                    out.write(w.toByteArray());
                    done = true;
                } else {
                    out.write(payload, start, end - start);
                }
            }
            if (!done) {
                throw new IllegalArgumentException("no field " + field);
            }
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Where needle first stands in hay (a field's name in a payload, say). */
    public static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("field not found");
    }
}
