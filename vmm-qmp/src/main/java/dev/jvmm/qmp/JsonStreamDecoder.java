package dev.jvmm.qmp;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Splits a QMP byte stream into JSON values as they complete, with Jackson's non-blocking parser. After a
 * syntax error the rest of the line is dropped and parsing starts afresh at the next newline, so one bad
 * line costs one error reply and the connection goes on (QEMU's streamer resynchronises similarly).
 */
public final class JsonStreamDecoder {
    /** Receives each complete top-level value, or a parse error text. */
    public interface Sink {
        void value(Object value);

        void error(String desc);
    }

    private final Sink sink;
    private JsonParser parser;
    private ByteArrayFeeder feeder;
    private final ArrayDeque<Object> stack = new ArrayDeque<>();
    private final ArrayDeque<String> names = new ArrayDeque<>();
    private boolean skipToNewline;

    public JsonStreamDecoder(Sink sink) {
        this.sink = sink;
        reset();
    }

    private void reset() {
        try {
            if (parser != null) {
                parser.close();
            }
            parser = Json.FACTORY.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
        stack.clear();
        names.clear();
    }

    /** Feeds bytes; completed values and errors go to the sink before this returns. */
    public void feed(byte[] buf, int off, int len) {
        int end = off + len;
        int pos = off;
        while (pos < end) {
            if (skipToNewline) {
                int nl = indexOf(buf, pos, end, (byte) '\n');
                if (nl < 0) {
                    return;
                }
                skipToNewline = false;
                pos = nl + 1;
                continue;
            }
            // Feed one line at a time so an error only discards the rest of its own line.
            int nl = indexOf(buf, pos, end, (byte) '\n');
            int chunkEnd = nl < 0 ? end : nl + 1;
            try {
                feeder.feedInput(buf, pos, chunkEnd);
                drain();
            } catch (IOException | RuntimeException e) {
                sink.error(describe(e));
                reset();
                skipToNewline = nl < 0;
            }
            pos = chunkEnd;
        }
    }

    private static int indexOf(byte[] b, int from, int to, byte v) {
        for (int i = from; i < to; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static String describe(Exception e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = m.indexOf('\n');
        if (nl > 0) {
            m = m.substring(0, nl);
        }
        if (m.contains("nesting depth")) {
            return "JSON nesting depth limit exceeded";
        }
        return "JSON parse error, " + m;
    }

    @SuppressWarnings("unchecked")
    private void drain() throws IOException {
        JsonToken t;
        while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
            switch (t) {
                case START_OBJECT -> stack.push(new LinkedHashMap<String, Object>());
                case START_ARRAY -> stack.push(new ArrayList<>());
                case FIELD_NAME -> names.push(parser.currentName());
                case END_OBJECT, END_ARRAY -> complete(stack.pop());
                case VALUE_STRING -> complete(parser.getText());
                case VALUE_NUMBER_INT -> complete(parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                        ? parser.getBigIntegerValue() : (Object) parser.getLongValue());
                case VALUE_NUMBER_FLOAT -> complete(parser.getDoubleValue());
                case VALUE_TRUE -> complete(Boolean.TRUE);
                case VALUE_FALSE -> complete(Boolean.FALSE);
                case VALUE_NULL -> complete(Json.NULL);
                default -> throw new IOException("unexpected token " + t);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void complete(Object v) {
        Object top = stack.peek();
        if (top == null) {
            sink.value(v);
        } else if (top instanceof Map<?, ?> m) {
            ((Map<String, Object>) m).put(names.pop(), v);
        } else {
            ((List<Object>) top).add(v);
        }
    }
}
