package dev.jvmm.core.vmstate;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state of a whole machine: one section per saveable part, keyed by its QOM path and tagged with its
 * type name and version. {@link #restore} is strict: a section for a part this machine lacks, a part with
 * no section, another type or version, or fields that do not match are each a {@link StateException}.
 * Sections are matched against the parts before any part is loaded; each part checks its own fields.
 */
public final class MachineState {
    /** "JVMMSTAT": the stream's first eight bytes. */
    static final long MAGIC = 0x4a564d4d53544154L;
    static final int FORMAT_VERSION = 1;

    /** One saved part. */
    public record Section(String id, String type, int version, byte[] payload) {
    }

    /** A part of the running machine that takes part in save and restore. */
    public record Part(String id, String type, Saveable state) {
    }

    private final List<Section> sections;

    private MachineState(List<Section> sections) {
        this.sections = Collections.unmodifiableList(sections);
    }

    public List<Section> sections() {
        return sections;
    }

    /** Saves every part, in the order given (the machine's creation order). */
    public static MachineState save(List<Part> parts) {
        List<Section> out = new ArrayList<>();
        for (Part p : parts) {
            StateWriter w = new StateWriter();
            p.state().saveState(w);
            out.add(new Section(p.id(), p.type(), p.state().stateVersion(), w.toByteArray()));
        }
        return new MachineState(out);
    }

    /** Restores into freshly built parts with the same configuration. */
    public void restore(List<Part> parts) throws StateException {
        Map<String, Part> byId = new LinkedHashMap<>();
        for (Part p : parts) {
            byId.put(p.id(), p);
        }
        Map<String, Section> saved = new LinkedHashMap<>();
        for (Section s : sections) {
            Part p = byId.get(s.id());
            if (p == null) {
                throw new StateException("unknown section '" + s.id() + "' (type " + s.type()
                        + "): this machine has no such device");
            }
            if (!p.type().equals(s.type())) {
                throw new StateException("section '" + s.id() + "' holds a " + s.type() + ", this machine has a "
                        + p.type() + " there");
            }
            if (s.version() != p.state().stateVersion()) {
                throw new StateException("section '" + s.id() + "' (" + s.type() + ") is version " + s.version()
                        + ", this jvmm reads version " + p.state().stateVersion());
            }
            saved.put(s.id(), s);
        }
        for (Part p : parts) {
            if (!saved.containsKey(p.id())) {
                throw new StateException("no saved state for '" + p.id() + "' (" + p.type() + ")");
            }
        }
        for (Part p : parts) {
            StateReader r = new StateReader(p.id(), saved.get(p.id()).payload());
            p.state().loadState(r);
            r.finish();
        }
        for (Part p : parts) {
            p.state().afterLoad();
        }
    }

    /** The stream form: magic, format version, then each section's id, type, version and payload. */
    public byte[] toByteArray() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeInt(sections.size());
            for (Section s : sections) {
                out.writeUTF(s.id());
                out.writeUTF(s.type());
                out.writeInt(s.version());
                out.writeInt(s.payload().length);
                out.write(s.payload());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static MachineState parse(byte[] data) throws StateException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            if (in.readLong() != MAGIC) {
                throw new StateException("not a jvmm machine state (bad magic)");
            }
            int format = in.readInt();
            if (format != FORMAT_VERSION) {
                throw new StateException("machine state format " + format + " is not supported (this jvmm reads "
                        + FORMAT_VERSION + ")");
            }
            int n = in.readInt();
            if (n < 0 || n > data.length) {
                throw new StateException("bad section count " + n);
            }
            List<Section> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = in.readUTF();
                String type = in.readUTF();
                int version = in.readInt();
                int len = in.readInt();
                if (len < 0 || len > data.length) {
                    throw new StateException("section '" + id + "' has a bad length " + len);
                }
                byte[] payload = new byte[len];
                in.readFully(payload);
                out.add(new Section(id, type, version, payload));
            }
            if (in.available() != 0) {
                throw new StateException(in.available() + " bytes after the last section");
            }
            return new MachineState(out);
        } catch (EOFException e) {
            throw new StateException("machine state is truncated");
        } catch (IOException e) {
            throw new StateException(e.getMessage());
        }
    }
}
