package dev.jvmm.core.chardev;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.MachineCommandException;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ChardevFactoryTest {
    @TempDir
    Path dir;
    IoLoop loop;
    final ChardevFactory f = new ChardevFactory(() -> {
        if (loop == null) {
            loop = new IoLoop();
        }
        return loop;
    });

    @AfterEach
    void tearDown() {
        f.closeAll();
        if (loop != null) {
            loop.close();
        }
    }

    String chardevError(String text) {
        return assertThrows(OptionException.class, () -> f.fromChardevOption(text)).formatted();
    }

    String serialError(String text) {
        return assertThrows(OptionException.class, () -> f.fromSerialOption(text, 7)).formatted();
    }

    @Test
    void qemuErrorTexts() {
        assertEquals("-chardev foo,id=x: 'foo' is not a valid char driver name", chardevError("foo,id=x"));
        assertEquals("-chardev stdio: chardev: no id specified", chardevError("stdio"));
        assertEquals("-chardev path=/x: chardev: no id specified", chardevError("path=/x"));
        assertEquals("-chardev id=x: chardev: \"x\" missing backend", chardevError("id=x"));
        assertEquals("-chardev file,id=f: chardev: file: no filename given", chardevError("file,id=f"));
        assertEquals("-chardev null,id=n,bogus=1: Invalid parameter 'bogus'", chardevError("null,id=n,bogus=1"));
        assertEquals("-chardev null,id=1bad: Parameter 'id' expects an identifier\n"
                + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.",
                chardevError("null,id=1bad"));
        assertEquals("-chardev socket,id=s,path=/tmp/q,server=on,wait=maybe: Parameter 'wait' expects 'on' or 'off'",
                chardevError("socket,id=s,path=/tmp/q,server=on,wait=maybe"));
        assertEquals("-chardev socket,id=s,path=/tmp/q,server=on,reconnect=2: "
                + "'reconnect' option is incompatible with socket in server listen mode",
                chardevError("socket,id=s,path=/tmp/q,server=on,reconnect=2"));
        assertEquals("-chardev socket,id=s,path=/tmp/q,wait=off: "
                + "'wait' option is incompatible with socket in client connect mode",
                chardevError("socket,id=s,path=/tmp/q,wait=off"));
        assertEquals("-chardev socket,id=s,path=/tmp/q,fd=3: None or one of 'path', 'fd' or 'host' option required.",
                chardevError("socket,id=s,path=/tmp/q,fd=3"));
        assertEquals("-chardev socket,id=s: Unable to parse FD number ", chardevError("socket,id=s"));
        assertTrue(chardevError("socket,id=s,fd=3").contains("not supported"));
        assertEquals("-chardev socket,id=s,path=/tmp/q,reconnect=x: Parameter 'reconnect' expects a number",
                chardevError("socket,id=s,path=/tmp/q,reconnect=x"));
        assertEquals("-chardev file,id=f,path=/nonexist/dir/x: Could not open '/nonexist/dir/x': No such file or directory",
                chardevError("file,id=f,path=/nonexist/dir/x"));
    }

    @Test
    void duplicatesAndStdioOnce() {
        f.fromChardevOption("null,id=a");
        assertEquals("-chardev null,id=a: Duplicate ID 'a' for chardev", chardevError("null,id=a"));
        f.fromChardevOption("stdio,id=s1");
        assertEquals("-chardev stdio,id=s2: cannot use stdio by multiple character devices", chardevError("stdio,id=s2"));
        assertEquals("-serial stdio: cannot use stdio by multiple character devices", serialError("stdio"));
    }

    @Test
    void chardevBackends() throws Exception {
        Path log = dir.resolve("x,y.log");
        Chardev file = f.fromChardevOption("file,id=f0,path=" + log.toString().replace(",", ",,"));
        assertInstanceOf(FileChardev.class, file);
        assertEquals(log, ((FileChardev) file).path());
        assertInstanceOf(NullChardev.class, f.fromChardevOption("null,id=n0"));
        assertSame(file, f.get("f0").orElseThrow());
        assertEquals(2, f.all().size());
    }

    @Test
    void serialShorthands() throws Exception {
        assertEquals(Optional.empty(), f.fromSerialOption("none", 0));
        Chardev n = f.fromSerialOption("null", 0).orElseThrow();
        assertEquals("serial0", n.id());
        Path log = dir.resolve("serial.log");
        Files.writeString(log, "stale");
        Chardev file = f.fromSerialOption("file:" + log, 1).orElseThrow();
        assertEquals("serial1", file.id());
        assertEquals(0, Files.size(log));
        Chardev mine = f.fromChardevOption("null,id=mine");
        assertSame(mine, f.fromSerialOption("chardev:mine", 2).orElseThrow());
        assertEquals("-serial chardev:nope: could not connect serial device to character backend 'chardev:nope'",
                serialError("chardev:nope"));
        assertEquals("-serial foo: 'foo' is not a valid char driver", serialError("foo"));
        assertEquals("-serial tcp:: could not connect serial device to character backend 'tcp:'", serialError("tcp:"));
        assertEquals("-serial unix:: Unable to parse FD number ", serialError("unix:"));
        assertEquals("-serial file:: Could not open '': No such file or directory", serialError("file:"));
    }

    @Test
    void serialUnixServer() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable");
        Path sock = dir.resolve("ser.sock");
        Chardev c = f.fromSerialOption("unix:" + sock + ",server,nowait", 0).orElseThrow();
        assertInstanceOf(SocketChardev.class, c);
        assertEquals("disconnected:unix:" + sock + ",server=on", c.describe());
        assertTrue(Files.exists(sock));
        Chardev d = f.fromChardevOption("socket,id=s1,path=" + dir.resolve("b.sock") + ",server=on,wait=off");
        assertEquals("s1", d.id());
    }

    /** chardev-add and chardev-remove: a frontend's chardev is busy until the frontend lets it go. */
    @Test
    void runtimeAddRemoveAndFrontends() throws Exception {
        assertEquals(Optional.empty(), f.add("n0", java.util.Map.of("backend", "null")));
        assertTrue(f.add("p0", java.util.Map.of("backend", "pty")).orElseThrow().startsWith("/dev/pts/"));
        assertTrue(f.claim("n0"));
        assertEquals("Chardev 'n0' is busy", assertThrows(MachineCommandException.class, () -> f.remove("n0"))
                .getMessage());
        assertEquals("Chardev user does not support chardev hotswap", assertThrows(MachineCommandException.class,
                () -> f.change("n0", java.util.Map.of("backend", "null"))).getMessage());
        f.release("n0");
        f.remove("n0");
        f.remove("p0");
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("chardev-pty-p0") && t.isAlive()), "a removed pty's thread ends");
        assertEquals("Failed to add chardev 'r0': chardev: ringbuf is not supported by jvmm", assertThrows(
                MachineCommandException.class, () -> f.add("r0", java.util.Map.of("backend", "ringbuf")))
                .getMessage());
        assertTrue(f.all().isEmpty());
    }

    /** A removed server's socket file goes with it. */
    @Test
    void runtimeSocketServerRemoved() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable");
        Path sock = dir.resolve("rt.sock");
        f.add("s0", java.util.Map.of("backend", "socket", "path", sock.toString(), "server", "on", "wait", "off"));
        assertTrue(Files.exists(sock));
        f.remove("s0");
        assertTrue(Files.notExists(sock));
    }

    /** A passed descriptor jvmm cannot serve (a connected socket) is refused and closed. */
    @Test
    void passedDescriptorsJvmmCannotServe() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Netty epoll transport unavailable");
        io.netty.channel.unix.Socket sock = io.netty.channel.unix.Socket.newSocketDomain();
        int fd = sock.intValue();
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> f.add("c0", java.util.Map.of(
                "backend", "socket", "fd", Integer.toString(fd), ChardevFactory.FD_NAME, "cfd", "server", "off")));
        assertEquals("Failed to add chardev 'c0': chardev: socket: a passed connected socket (server off) is not "
                + "supported by jvmm; pass a listening socket", e.getMessage());
        assertTrue(Files.notExists(Path.of("/proc/self/fd/" + fd)), "the descriptor is closed");
    }
}
