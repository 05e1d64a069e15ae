package dev.jvmm.core.vmstate;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class VmStateTest {
    static byte[] sample() {
        return new StateWriter().bool("b", true).u8("u8", 0xab).u16("u16", 0xbeef).u32("u32", 0xdeadbeef)
                .u64("u64", -2L).bytes("bytes", new byte[] {1, 2, 3}).str("s", "hi").str("none", null)
                .begin("group", 2).u8("x", 1).u8("x", 2).end().toByteArray();
    }

    static String error(byte[] payload, Load load) {
        StateReader r = new StateReader("/machine/dev", payload);
        return assertThrows(StateException.class, () -> {
            load.run(r);
            r.finish();
        }).getMessage();
    }

    interface Load {
        void run(StateReader r) throws StateException;
    }

    @Test
    void roundTrip() throws StateException {
        StateReader r = new StateReader("s", sample());
        assertEquals(true, r.bool("b"));
        assertEquals(0xab, r.u8("u8"));
        assertEquals(0xbeef, r.u16("u16"));
        assertEquals(0xdeadbeef, r.u32("u32"));
        assertEquals(-2L, r.u64("u64"));
        assertArrayEquals(new byte[] {1, 2, 3}, r.bytes("bytes"));
        assertEquals("hi", r.str("s"));
        assertNull(r.str("none"));
        assertEquals(2, r.begin("group"));
        assertEquals(1, r.u8("x"));
        assertEquals(2, r.u8("x"));
        r.end();
        r.finish();
    }

    @Test
    void wrongNameTypeAndLeftovers() {
        byte[] p = new StateWriter().u8("a", 1).u8("b", 2).toByteArray();
        assertEquals("section '/machine/dev': expected field 'x' (u8), found 'a' (u8)",
                error(p, r -> r.u8("x")));
        assertEquals("section '/machine/dev': expected field 'a' (u16), found 'a' (u8)",
                error(p, r -> r.u16("a")));
        assertEquals("section '/machine/dev': 5 bytes of unread fields (saved by a different layout)",
                error(p, r -> r.u8("a")));
        assertEquals("section '/machine/dev': truncated",
                error(Arrays.copyOf(p, p.length - 1), r -> {
                    r.u8("a");
                    r.u8("b");
                }));
        assertEquals("section '/machine/dev': unknown field type tag 99", error(new byte[] {99}, r -> r.u8("a")));
        byte[] g = new StateWriter().begin("g").u8("a", 1).end().toByteArray();
        assertEquals("section '/machine/dev': expected field 'b', found the end of a group", error(g, r -> {
            r.begin("g");
            r.u8("a");
            r.u8("b");
        }));
        assertEquals("section '/machine/dev': expected the end of a group, found a u8 field", error(g, r -> {
            r.begin("g");
            r.end();
        }));
        assertEquals("section '/machine/dev': 1 group(s) not closed", error(g, r -> {
            r.begin("g");
            r.u8("a");
        }));
    }

    @Test
    void configurationChecksAndInvalidValues() {
        byte[] p = new StateWriter().u32("iobase", 0x3f8).u64("epoch", 5).bool("flag", true).str("mode", "vm")
                .bytes("ids", new byte[] {1}).begin("list", 3).end().u32("n", 7).toByteArray();
        assertEquals("section '/machine/dev': configuration mismatch: 'iobase' is 1016 in the saved state,"
                + " 760 here", error(p, r -> r.expectU32("iobase", 0x2f8)));
        assertEquals("section '/machine/dev': configuration mismatch: 'mode' is 'vm' in the saved state, 'host'"
                + " here", error(p, r -> {
                    r.expectU32("iobase", 0x3f8);
                    r.expectU64("epoch", 5);
                    r.expectBool("flag", true);
                    r.expectStr("mode", "host");
                }));
        assertEquals("section '/machine/dev': configuration mismatch: 'list' is 3 elements in the saved state,"
                + " 2 elements here", error(p, r -> {
                    r.expectU32("iobase", 0x3f8);
                    r.expectU64("epoch", 5);
                    r.expectBool("flag", true);
                    r.expectStr("mode", "vm");
                    r.expectBytes("ids", new byte[] {1});
                    r.begin("list", 2);
                }));
        assertEquals("section '/machine/dev': field 'n' is invalid: 7 is outside 0..3", error(p, r -> {
            r.expectU32("iobase", 0x3f8);
            r.expectU64("epoch", 5);
            r.expectBool("flag", true);
            r.expectStr("mode", "vm");
            r.expectBytes("ids", new byte[] {1});
            r.begin("list", 3);
            r.end();
            r.u32("n", 0, 3);
        }));
        assertEquals("section '/machine/dev': field 'x' is invalid: why",
                new StateReader("/machine/dev", new byte[0]).invalid("x", "why").getMessage());
    }

    /** A counter part: its value, and a log of loads and after-load calls shared by the parts. */
    static final class Part implements Saveable {
        final List<String> log;
        final String name;
        final int version;
        int value;

        Part(List<String> log, String name, int version) {
            this.log = log;
            this.name = name;
            this.version = version;
        }

        @Override
        public int stateVersion() {
            return version;
        }

        @Override
        public void saveState(StateWriter w) {
            w.u32("value", value);
        }

        @Override
        public void loadState(StateReader r) throws StateException {
            value = r.u32("value");
            log.add("load " + name);
        }

        @Override
        public void afterLoad() {
            log.add("after " + name);
        }
    }

    static List<MachineState.Part> parts(List<String> log, int version, String... ids) {
        List<MachineState.Part> out = new ArrayList<>();
        for (String id : ids) {
            out.add(new MachineState.Part(id, "counter", new Part(log, id, version)));
        }
        return out;
    }

    @Test
    void machineStateRoundTripThroughBytes() throws StateException {
        List<String> log = new ArrayList<>();
        List<MachineState.Part> a = parts(log, 1, "/a", "/b");
        ((Part) a.get(0).state()).value = 11;
        ((Part) a.get(1).state()).value = 22;
        byte[] bytes = MachineState.save(a).toByteArray();
        List<MachineState.Part> b = parts(log, 1, "/a", "/b");
        MachineState.parse(bytes).restore(b);
        assertEquals(11, ((Part) b.get(0).state()).value);
        assertEquals(22, ((Part) b.get(1).state()).value);
        assertEquals(List.of("load /a", "load /b", "after /a", "after /b"), log, "after-load once all are loaded");
    }

    @Test
    void machineStateRefusals() {
        List<String> log = new ArrayList<>();
        MachineState saved = MachineState.save(parts(log, 1, "/a"));
        assertEquals("section '/a' (counter) is version 1, this jvmm reads version 2",
                assertThrows(StateException.class, () -> saved.restore(parts(log, 2, "/a"))).getMessage());
        assertEquals("unknown section '/a' (type counter): this machine has no such device",
                assertThrows(StateException.class, () -> saved.restore(parts(log, 1, "/b"))).getMessage());
        assertEquals("no saved state for '/b' (counter)",
                assertThrows(StateException.class, () -> saved.restore(parts(log, 1, "/a", "/b"))).getMessage());
        List<MachineState.Part> other = List.of(new MachineState.Part("/a", "timer", new Part(log, "/a", 1)));
        assertEquals("section '/a' holds a counter, this machine has a timer there",
                assertThrows(StateException.class, () -> saved.restore(other)).getMessage());
        assertEquals(List.of(), log, "nothing is loaded when the sections do not match");

        byte[] bytes = saved.toByteArray();
        assertEquals("machine state is truncated", assertThrows(StateException.class,
                () -> MachineState.parse(Arrays.copyOf(bytes, bytes.length - 1))).getMessage());
        byte[] bad = bytes.clone();
        bad[0] ^= 1;
        assertEquals("not a jvmm machine state (bad magic)",
                assertThrows(StateException.class, () -> MachineState.parse(bad)).getMessage());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 2);
        assertEquals("2 bytes after the last section",
                assertThrows(StateException.class, () -> MachineState.parse(longer)).getMessage());
        byte[] format = bytes.clone();
        format[11] = 9;
        assertEquals("machine state format 9 is not supported (this jvmm reads 1)",
                assertThrows(StateException.class, () -> MachineState.parse(format)).getMessage());
    }
}
