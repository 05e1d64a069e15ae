package dev.jvmm.core.net;

import java.nio.ByteBuffer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A NIC for backend tests: keeps every frame it receives, and can refuse frames to exercise queueing. */
public final class RecordingNic extends NicClient {
    private final LinkedBlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    private final MacAddress mac;
    private volatile boolean refuse;

    public RecordingNic(String name, MacAddress mac) {
        super(name, "test-nic", 0);
        this.mac = mac;
    }

    @Override
    public MacAddress macAddress() {
        return mac;
    }

    @Override
    protected int receive(ByteBuffer frame) {
        if (refuse) {
            return 0;
        }
        byte[] b = new byte[frame.remaining()];
        frame.duplicate().get(b);
        frames.add(b);
        return b.length;
    }

    /** While true, every frame is refused (queued at this NIC); false again flushes the queue. */
    public void setRefuse(boolean on) {
        refuse = on;
        if (!on) {
            flushQueued();
        }
    }

    /** The next frame that matches, skipping others; null after timeoutMs. */
    public byte[] await(Predicate<byte[]> match, long timeoutMs) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            byte[] f = frames.poll(left, TimeUnit.NANOSECONDS);
            if (f == null) {
                return null;
            }
            if (match.test(f)) {
                return f;
            }
        }
    }

    public int pending() {
        return frames.size();
    }

    /** Hands a frame from the "guest" to the backend. */
    public int transmit(byte[] frame) {
        return send(ByteBuffer.wrap(frame));
    }
}
