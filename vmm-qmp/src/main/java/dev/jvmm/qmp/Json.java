package dev.jvmm.qmp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * The QMP JSON value model (no databind): objects are {@code Map<String,Object>} (insertion-ordered),
 * arrays {@code List<Object>}, strings, {@code Long}/{@code BigInteger}/{@code Double}, {@code Boolean} and
 * {@link #NULL}. Output is spelled as QEMU spells it: ", " and ": " separators, CRLF after each message.
 */
public final class Json {
    /** JSON null (Java null is reserved for "absent"). */
    public enum Null { NULL }

    public static final Null NULL = Null.NULL;

    /** QEMU's parser limits: 64 MiB tokens, nesting 1024. */
    public static final int MAX_NESTING = 1024;
    public static final int MAX_STRING = 64 << 20;

    public static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING)
                    .maxStringLength(MAX_STRING)
                    .maxNumberLength(1000)
                    .build())
            .build();

    private Json() {
    }

    /** Serialises one message and appends CRLF. */
    public static byte[] encodeMessage(Object value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(new QemuSpacing());
            write(g, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    /** Serialises without the line ending, compact (for tests and logs). */
    public static String toString(Object value) {
        byte[] b = encodeMessage(value);
        return new String(b, 0, b.length - 2, java.nio.charset.StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    public static void write(JsonGenerator g, Object v) throws IOException {
        if (v == null || v == NULL) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Integer i) {
            g.writeNumber(i);
        } else if (v instanceof Long l) {
            g.writeNumber(l);
        } else if (v instanceof BigInteger bi) {
            g.writeNumber(bi);
        } else if (v instanceof Double d) {
            g.writeNumber(d);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) m).entrySet()) {
                g.writeFieldName(e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof List<?> l) {
            g.writeStartArray();
            for (Object o : l) {
                write(g, o);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("not a JSON value: " + v.getClass());
        }
    }

    /** The QAPI JSON type name of a value, as QEMU's type errors name them. */
    public static String typeName(Object v) {
        if (v == null || v == NULL) {
            return "null";
        } else if (v instanceof String) {
            return "string";
        } else if (v instanceof Boolean) {
            return "boolean";
        } else if (v instanceof Long || v instanceof BigInteger) {
            return "integer";
        } else if (v instanceof Number) {
            return "number";
        } else if (v instanceof Map) {
            return "object";
        }
        return "array";
    }

    /** QEMU's layout: {"a": 1, "b": [1, 2]} on one line. */
    private static final class QemuSpacing implements PrettyPrinter {
        @Override
        public void writeRootValueSeparator(JsonGenerator g) {
        }

        @Override
        public void writeStartObject(JsonGenerator g) throws IOException {
            g.writeRaw('{');
        }

        @Override
        public void writeEndObject(JsonGenerator g, int n) throws IOException {
            g.writeRaw('}');
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeStartArray(JsonGenerator g) throws IOException {
            g.writeRaw('[');
        }

        @Override
        public void writeEndArray(JsonGenerator g, int n) throws IOException {
            g.writeRaw(']');
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) {
        }

        @Override
        public void beforeObjectEntries(JsonGenerator g) {
        }
    }
}
