package dev.jvmm.core.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QemuOptsTest {
    @Test
    void impliedKeyAndPairs() {
        QemuOpts o = QemuOpts.parse("-chardev", "socket,id=c0,path=/tmp/a,,b,server=on,wait=off", "backend");
        assertEquals("socket", o.implied());
        assertEquals("socket", o.get("backend").orElseThrow());
        assertEquals("/tmp/a,b", o.get("path").orElseThrow());
        assertTrue(o.getBool("server", false));
        assertFalse(o.getBool("wait", true));
    }

    @Test
    void oldBooleanSpellings() {
        QemuOpts o = QemuOpts.parse("-qmp", "unix:/tmp/q,server,nowait", "path");
        assertTrue(o.getBool("server", false));
        assertFalse(o.getBool("wait", true));
    }

    @Test
    void sizes() {
        assertEquals(256L << 20, QemuOpts.parseSize("256", 1 << 20));
        assertEquals(256L << 20, QemuOpts.parseSize("256M", 1 << 20));
        assertEquals(2L << 30, QemuOpts.parseSize("2G", 1 << 20));
        assertEquals(1536L << 20, QemuOpts.parseSize("1.5G", 1 << 20));
        assertThrows(NumberFormatException.class, () -> QemuOpts.parseSize("12Q", 1 << 20));
        assertThrows(NumberFormatException.class, () -> QemuOpts.parseSize("-5", 1 << 20));
    }

    @Test
    void badBooleanIsAnOptionError() {
        QemuOpts o = QemuOpts.parse("-chardev", "socket,server=maybe", "backend");
        OptionException e = assertThrows(OptionException.class, () -> o.getBool("server", false));
        assertEquals("-chardev: Parameter 'server' expects 'on' or 'off'", e.formatted());
    }
}
