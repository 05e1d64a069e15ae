package dev.jvmm.core.fd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** QEMU 7.2's fd set rules on real descriptors (of /dev/null, opened read-only, write-only or read-write). */
class FdSetsTest {
    static final class Sys {
        static {
            Native.register(Sys.class, "c");
        }

        static native int open(String path, int flags) throws LastErrorException;
    }

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final FdSets sets = new FdSets(running::get);

    @AfterEach
    void closeAll() {
        sets.closeAll();
    }

    private static int devNull(int accessMode) {
        return Sys.open("/dev/null", accessMode | 0x80000);
    }

    @Test
    void setsAreNumberedFromTheLowestFreeIdAndListedAsQemuListsThem() throws Exception {
        int a = devNull(0);
        int b = devNull(2);
        int c = devNull(0);
        assertEquals(new FdSets.Added(3, a), sets.add(a, 3L, "rdonly"));
        assertEquals(new FdSets.Added(3, b), sets.add(b, 3L, null));
        assertEquals(new FdSets.Added(0, c), sets.add(c, null, null));
        int d = devNull(0);
        assertEquals(1, sets.add(d, null, null).fdsetId());
        assertEquals(List.of(
                new FdSets.FdSetInfo(3, List.of(new FdSets.FdInfo(a, "rdonly"), new FdSets.FdInfo(b, null))),
                new FdSets.FdSetInfo(1, List.of(new FdSets.FdInfo(d, null))),
                new FdSets.FdSetInfo(0, List.of(new FdSets.FdInfo(c, null)))), sets.query());
    }

    @Test
    void aNegativeSetIsRefusedAndItsDescriptorClosed() {
        int a = devNull(0);
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> sets.add(a, -1L, null));
        assertEquals("Parameter 'fdset-id' expects a non-negative value", e.getMessage());
        assertFalse(UnixMessages.isOpen(a));
    }

    @Test
    void removeOfWhatIsNotThereNamesItAsQemuDoes() throws Exception {
        sets.add(devNull(0), 0L, null);
        assertEquals("File descriptor named 'fdset-id:0, fd:99' not found",
                assertThrows(MachineCommandException.class, () -> sets.remove(0, 99L)).getMessage());
        assertEquals("File descriptor named 'fdset-id:7' not found",
                assertThrows(MachineCommandException.class, () -> sets.remove(7, null)).getMessage());
    }

    @Test
    void removedDescriptorsCloseOnlyWhileTheMachineRuns() throws Exception {
        running.set(false);
        int a = devNull(0);
        sets.add(a, 2L, null);
        sets.remove(2, null);
        assertTrue(UnixMessages.isOpen(a));
        assertEquals(1, sets.query().size());
        running.set(true);
        sets.remove(2, (long) a);
        assertFalse(UnixMessages.isOpen(a));
        assertEquals(List.of(), sets.query());
    }

    @Test
    void openDuplicatesTheDescriptorWhoseAccessModeMatches() throws Exception {
        int ro = devNull(0);
        int rw = devNull(2);
        sets.add(ro, 3L, null);
        sets.add(rw, 3L, null);
        int dupRw = sets.open("/dev/fdset/3", 2);
        int dupRo = sets.open("/dev/fdset/3", 0);
        assertNotEquals(rw, dupRw);
        assertEquals(2, UnixMessages.accessMode(dupRw));
        assertEquals(0, UnixMessages.accessMode(dupRo));
        assertEquals("Could not dup FD for /dev/fdset/3 flags 1: Permission denied",
                assertThrows(IOException.class, () -> sets.open("/dev/fdset/3", 1)).getMessage());
        assertEquals("Could not dup FD for /dev/fdset/9 flags 2: No such file or directory",
                assertThrows(IOException.class, () -> sets.open("/dev/fdset/9", 2)).getMessage());
        assertEquals("Could not parse fdset /dev/fdset/x",
                assertThrows(IOException.class, () -> sets.open("/dev/fdset/x", 0)).getMessage());
        sets.release(dupRw);
        sets.release(dupRo);
        assertFalse(UnixMessages.isOpen(dupRw));
    }

    @Test
    void aDuplicateInUseKeepsAnEmptiedSetUntilItIsReleased() throws Exception {
        sets.monitorConnected();
        int rw = devNull(2);
        sets.add(rw, 3L, null);
        int dup = sets.open("/dev/fdset/3", 2);
        sets.remove(3, null);
        assertFalse(UnixMessages.isOpen(rw));
        assertEquals(List.of(new FdSets.FdSetInfo(3, List.of())), sets.query());
        sets.release(dup);
        assertEquals(List.of(), sets.query());
    }

    @Test
    void theLastMonitorLeavingClosesDescriptorsWithoutDuplicatesInUse() throws Exception {
        sets.monitorConnected();
        int a = devNull(0);
        int b = devNull(2);
        sets.add(a, 5L, null);
        sets.add(b, 6L, null);
        int dup = sets.open("/dev/fdset/6", 2);
        sets.monitorConnected();
        sets.monitorDisconnected();
        assertTrue(UnixMessages.isOpen(a), "another monitor is still connected");
        sets.monitorDisconnected();
        assertFalse(UnixMessages.isOpen(a));
        assertTrue(UnixMessages.isOpen(b), "set 6 has a duplicate in use");
        assertEquals(List.of(new FdSets.FdSetInfo(6, List.of(new FdSets.FdInfo(b, null)))), sets.query());
        sets.release(dup);
        assertFalse(UnixMessages.isOpen(b));
        assertEquals(List.of(), sets.query());
    }

    @Test
    void namedDescriptorsFollowGetfdAndClosefd() throws Exception {
        NamedFds named = new NamedFds();
        int a = devNull(0);
        int b = devNull(0);
        named.put("fd1", a);
        named.put("fd1", b);
        assertFalse(UnixMessages.isOpen(a), "the replaced descriptor is closed");
        int c = devNull(0);
        assertEquals("Parameter 'fdname' expects a name not starting with a digit",
                assertThrows(MachineCommandException.class, () -> named.put("1fd", c)).getMessage());
        assertFalse(UnixMessages.isOpen(c));
        named.close("fd1");
        assertFalse(UnixMessages.isOpen(b));
        assertEquals("File descriptor named 'fd1' not found",
                assertThrows(MachineCommandException.class, () -> named.close("fd1")).getMessage());
    }

    @Test
    void descriptorsTravelWithTheBytesOfASocketMessage() throws Exception {
        int[] pair = Socketpair.open();
        try {
            int a = devNull(2);
            UnixMessages out = new UnixMessages(64);
            out.send(pair[0], "{\"execute\":\"getfd\"}".getBytes(), new int[] {a});
            UnixMessages in = new UnixMessages(64);
            byte[] buf = new byte[64];
            UnixMessages.Received r = in.receive(pair[1], buf);
            assertEquals("{\"execute\":\"getfd\"}", new String(buf, 0, r.count()));
            assertEquals(1, r.fds().length);
            assertNotEquals(a, r.fds()[0]);
            assertEquals(2, UnixMessages.accessMode(r.fds()[0]));
            UnixMessages.closeFd(r.fds()[0]);
            UnixMessages.closeFd(a);
            assertEquals(-1, in.receive(pair[1], buf).count(), "nothing more to read");
        } finally {
            UnixMessages.closeFd(pair[0]);
            UnixMessages.closeFd(pair[1]);
        }
    }

    static final class Socketpair {
        static {
            Native.register(Socketpair.class, "c");
        }

        static native int socketpair(int domain, int type, int protocol, int[] sv) throws LastErrorException;

        static int[] open() {
            int[] sv = new int[2];
            socketpair(1, 1 | 0x80000, 0, sv);
            return sv;
        }
    }
}
