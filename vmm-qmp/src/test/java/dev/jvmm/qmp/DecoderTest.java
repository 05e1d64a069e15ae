package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DecoderTest {
    List<Object> values = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    JsonStreamDecoder d = new JsonStreamDecoder(new JsonStreamDecoder.Sink() {
        public void value(Object v) {
            values.add(v);
        }

        public void error(String desc) {
            errors.add(desc);
        }
    });

    void feed(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        d.feed(b, 0, b.length);
    }

    @Test
    void adjacentObjects() {
        feed("{\"a\":1}{\"b\":2}\n{\"c\":3}}\n");
        assertEquals(3, values.size(), values + " " + errors);
        assertEquals(1, errors.size(), errors.toString());
    }

    @Test
    void splitInsideString() {
        feed("{\"execute\":\"qmp_capabilities\"}\n");
        feed("{\"execute\":\"query-st");
        feed("atus\",\"id\":1}{\"x\":[1]}\n");
        assertEquals(3, values.size(), values + " " + errors);
        assertEquals(0, errors.size(), errors.toString());
    }

    @Test
    void bigString() {
        byte[] big = new byte[20 << 20];
        Arrays.fill(big, (byte) 'a');
        big[0] = '"';
        big[big.length - 2] = '"';
        big[big.length - 1] = '\n';
        long t0 = System.nanoTime();
        for (int i = 0; i < big.length; i += 65536) {
            d.feed(big, i, Math.min(65536, big.length - i));
        }
        System.out.println("20 MiB string decoded in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertEquals(1, values.size() + errors.size(), errors.toString());
    }
}
