package dev.jvmm.core.chardev;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.io.IOException;

/**
 * QEMU's pty backend: opens a pseudo-terminal master (posix_openpt, grantpt, unlockpt), puts the pair in
 * raw mode as QEMU's qemu_openpty_raw does, and announces the slave on stderr as QEMU does
 * ("char device redirected to /dev/pts/N (label ID)"). A daemon thread reads the master. While no
 * process has the slave open (the master polls POLLHUP), output is dropped, as in QEMU.
 */
public final class PtyChardev extends AbstractChardev {
    static final int O_RDWR = 0x2;
    static final int O_NOCTTY = 0x100;
    static final int O_NONBLOCK = 0x800;
    static final int F_SETFL = 4;
    static final int TCSANOW = 0;
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLHUP = 0x10;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int EIO = 5;
    /** sizeof(struct termios) on x86-64 glibc, rounded up generously. */
    private static final int TERMIOS_SIZE = 64;
    private static final int WRITE_WAIT_MS = 100;

    /** The libc calls this backend needs, bound once with JNA direct mapping. */
    static final class Pty {
        static {
            Native.register(Pty.class, "c");
        }

        private Pty() {
        }

        static native int posix_openpt(int flags) throws LastErrorException;

        static native int grantpt(int fd) throws LastErrorException;

        static native int unlockpt(int fd) throws LastErrorException;

        static native Pointer ptsname(int fd);

        static native int open(String path, int flags) throws LastErrorException;

        static native int close(int fd);

        static native long read(int fd, byte[] buf, long count) throws LastErrorException;

        static native long write(int fd, byte[] buf, long count) throws LastErrorException;

        static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

        static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

        static native int tcgetattr(int fd, byte[] termios) throws LastErrorException;

        static native int tcsetattr(int fd, int action, byte[] termios) throws LastErrorException;

        static native void cfmakeraw(byte[] termios);
    }

    private final int master;
    private final String slavePath;
    private final BlockingInput input = new BlockingInput();
    private final Memory writePollFd = new Memory(8);
    private byte[] writeScratch = new byte[256];
    private volatile boolean connected;
    private volatile java.util.function.Consumer<Boolean> connectionListener;
    private volatile boolean closed;
    private final Thread reader;

    public PtyChardev(String id) throws IOException {
        super(id);
        int fd;
        try {
            fd = Pty.posix_openpt(O_RDWR | O_NOCTTY);
        } catch (LastErrorException e) {
            throw new IOException("Failed to create PTY: " + e.getMessage());
        }
        try {
            Pty.grantpt(fd);
            Pty.unlockpt(fd);
            Pointer name = Pty.ptsname(fd);
            if (name == null) {
                throw new IOException("Failed to create PTY: ptsname failed");
            }
            slavePath = name.getString(0);
            makeRaw(fd, slavePath);
            Pty.fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK);
        } catch (LastErrorException | IOException e) {
            Pty.close(fd);
            throw new IOException("Failed to create PTY: " + e.getMessage());
        }
        master = fd;
        System.err.println("char device redirected to " + slavePath + " (label " + id + ")");
        reader = new Thread(this::readLoop, "chardev-pty-" + id);
        reader.setDaemon(true);
        reader.start();
    }

    /** Raw mode is a property of the terminal, set through a briefly opened slave descriptor. */
    private static void makeRaw(int master, String slave) {
        int s = Pty.open(slave, O_RDWR | O_NOCTTY);
        try {
            byte[] t = new byte[TERMIOS_SIZE];
            Pty.tcgetattr(s, t);
            Pty.cfmakeraw(t);
            Pty.tcsetattr(s, TCSANOW, t);
        } finally {
            Pty.close(s);
        }
    }

    /** The slave device's path, e.g. "/dev/pts/3". */
    public String slavePath() {
        return slavePath;
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public void setConnectionListener(java.util.function.Consumer<Boolean> listener) {
        connectionListener = listener;
    }

    /** Reader thread only: records the slave's presence and tells the frontend of a change. */
    private void setConnected(boolean now) {
        if (connected != now) {
            connected = now;
            java.util.function.Consumer<Boolean> l = connectionListener;
            if (l != null) {
                l.accept(now);
            }
        }
    }

    private void readLoop() {
        byte[] buf = new byte[4096];
        Memory pfd = new Memory(8);
        try {
            while (!closed) {
                pfd.setInt(0, master);
                pfd.setShort(4, POLLIN);
                pfd.setShort(6, (short) 0);
                int rc;
                try {
                    rc = Pty.poll(pfd, 1, 200);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == EINTR) {
                        continue;
                    }
                    return;
                }
                short rev = pfd.getShort(6);
                if ((rev & POLLHUP) != 0 && (rev & POLLIN) == 0) {
                    setConnected(false); // no slave open: look again shortly, as QEMU polls
                    Thread.sleep(100);
                    continue;
                }
                setConnected(true);
                if (rc <= 0 || (rev & POLLIN) == 0) {
                    continue;
                }
                long n;
                try {
                    n = Pty.read(master, buf, buf.length);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == EIO) {
                        setConnected(false);
                        Thread.sleep(100);
                    }
                    continue;
                }
                if (n > 0) {
                    input.deliver(this, buf, 0, (int) n);
                }
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    @Override
    protected void inputReady() {
        input.signal();
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        if (closed || !connected || length <= 0) {
            return;
        }
        if (writeScratch.length < length) {
            writeScratch = new byte[Math.max(length, writeScratch.length * 2)];
        }
        System.arraycopy(data, offset, writeScratch, 0, length);
        int done = 0;
        long deadline = 0;
        while (done < length) {
            try {
                byte[] src = writeScratch;
                if (done > 0) {
                    System.arraycopy(src, done, src, 0, length - done);
                    length -= done;
                    done = 0;
                }
                done += (int) Pty.write(master, src, length);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EAGAIN) {
                    return;
                }
                // The reader is slow: wait a little for room rather than drop, then give up.
                long now = System.nanoTime();
                if (deadline == 0) {
                    deadline = now + WRITE_WAIT_MS * 1_000_000L;
                } else if (now > deadline) {
                    return;
                }
                writePollFd.setInt(0, master);
                writePollFd.setShort(4, POLLOUT);
                writePollFd.setShort(6, (short) 0);
                try {
                    Pty.poll(writePollFd, 1, 10);
                } catch (LastErrorException ignored) {
                    // retry the write
                }
            }
        }
    }

    @Override
    public String describe() {
        return "pty:" + slavePath;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        reader.interrupt();
        try {
            reader.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            Pty.close(master);
        }
    }
}
