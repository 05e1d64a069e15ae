package dev.jvmm.core.chardev;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * QEMU's stdio backend: output is written unbuffered to file descriptor 1 (one write(2) per call, so a
 * guest printing byte by byte is neither delayed nor reordered), input is read from fd 0 on a daemon
 * thread. Unlike QEMU, the terminal is not switched to raw mode and there is no Ctrl-A multiplexer:
 * with a terminal on stdin, input arrives line by line and Ctrl-C goes to jvmm.
 */
public final class StdioChardev extends AbstractChardev {
    private final InputStream in;
    private final OutputStream out;
    private final BlockingInput input = new BlockingInput();
    private Thread reader;
    private volatile boolean closed;

    public StdioChardev(String id) {
        this(id, new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out));
    }

    /** For tests and embedding: any streams. */
    public StdioChardev(String id, InputStream in, OutputStream out) {
        super(id);
        this.in = in;
        this.out = out;
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        try {
            out.write(data, offset, length);
            out.flush();
        } catch (IOException e) {
            // stdout closed (e.g. a pipe reader went away): output is lost, the guest keeps running
        }
    }

    @Override
    public void setReceiver(Receiver r) {
        super.setReceiver(r);
        if (r != null) {
            startReader();
        }
    }

    private synchronized void startReader() {
        if (reader != null || closed) {
            return;
        }
        reader = new Thread(this::readLoop, "chardev-stdio-" + id());
        reader.setDaemon(true);
        reader.start();
    }

    private void readLoop() {
        byte[] buf = new byte[4096];
        try {
            while (!closed) {
                int n = in.read(buf);
                if (n < 0) {
                    return; // EOF on stdin: no more input, output continues
                }
                input.deliver(this, buf, 0, n);
            }
        } catch (IOException | InterruptedException e) {
            // stdin unreadable or closing: stop reading
        }
    }

    @Override
    protected void inputReady() {
        input.signal();
    }

    @Override
    public String describe() {
        return "stdio";
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (reader != null) {
            reader.interrupt();
        }
    }
}
