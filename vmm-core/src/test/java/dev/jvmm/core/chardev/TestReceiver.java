package dev.jvmm.core.chardev;

import java.io.ByteArrayOutputStream;

/** A frontend with a switchable amount of room, recording what it got. */
final class TestReceiver implements FlowControlledReceiver {
    private final ByteArrayOutputStream got = new ByteArrayOutputStream();
    private int room;
    private volatile Runnable hook = () -> { };
    private int overflow;

    TestReceiver(int room) {
        this.room = room;
    }

    @Override
    public synchronized int canReceive() {
        return room;
    }

    @Override
    public void setInputReadyHook(Runnable hook) {
        this.hook = hook;
    }

    @Override
    public synchronized void receive(byte[] data, int offset, int length) {
        if (length > room) {
            overflow += length - room;
        }
        got.write(data, offset, length);
        room = Math.max(0, room - length);
        notifyAll();
    }

    /** Gives room and wakes the backend, as a UART does when the guest reads RBR. */
    void setRoom(int r) {
        synchronized (this) {
            room = r;
        }
        hook.run();
    }

    synchronized String text() {
        return got.toString();
    }

    synchronized int overflow() {
        return overflow;
    }

    synchronized boolean awaitText(String expected, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (!got.toString().equals(expected)) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    /** Keeps giving room until the expected text has arrived. */
    boolean drainUntil(String expected, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (text().equals(expected)) {
                return true;
            }
            setRoom(3);
            Thread.sleep(2);
        }
        return text().equals(expected);
    }
}
