package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.LongConsumer;

/**
 * A guest-facing drive, QEMU's BlockBackend: the image graph under it, its werror/rerror policy, I/O
 * statistics and size. Disk devices (virtio-blk, IDE) talk only to this. Requests may run on any thread;
 * the device checks ranges against {@link #size()} before submitting.
 */
public interface BlockBackend {
    /** The drive's name as QMP's "device" fields show it (the -drive id); "" for an anonymous backend. */
    String name();

    /** The root node's node-name (auto-generated "#blockNNN" when the user gave none). */
    String nodeName();

    /** Guest-visible size in bytes (0 while no medium is inserted). */
    long size();

    /**
     * Whether a medium is inserted (QEMU's blk_is_inserted). Only a drive with removable media can be empty;
     * requests on an empty drive fail.
     */
    default boolean isInserted() {
        return true;
    }

    /**
     * The guest moved the tray itself (ATAPI START STOP UNIT with LoEj): the device has already changed its own
     * state; the drive reports it as DEVICE_TRAY_MOVED. Any thread.
     */
    default void guestTrayMoved(boolean open) {
    }

    boolean readOnly();

    /** Fills dst (position to limit) from the disk at offset; throws on a host I/O error. Accounted. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * One guest request whose buffers (a scatter-gather list) cover consecutive disk bytes from offset: accounted
     * as one operation, and one request for the graph below (blkdebug rules see its whole range).
     */
    default void readv(long offset, ByteBuffer[] dsts) throws IOException {
        for (ByteBuffer d : dsts) {
            int n = d.remaining();
            read(offset, d);
            offset += n;
        }
    }

    /** The write counterpart of {@link #readv}. */
    default void writev(long offset, ByteBuffer[] srcs) throws IOException {
        for (ByteBuffer s : srcs) {
            int n = s.remaining();
            write(offset, s);
            offset += n;
        }
    }

    /**
     * A read the VMM makes for itself (QEMU's blk_pread in hd_geometry_guess), not on the guest's behalf: as
     * in QEMU it is not counted in query-blockstats.
     */
    default void readInternal(long offset, ByteBuffer dst) throws IOException {
        read(offset, dst);
    }

    /** Writes src (position to limit) at offset; with cache=writethrough it is durable on return. Accounted. */
    void write(long offset, ByteBuffer src) throws IOException;

    /** Makes every completed write durable (a no-op under cache=unsafe). Accounted. */
    void flush() throws IOException;

    /** Guest discard; accounted as an unmap operation. */
    void discard(long offset, long length) throws IOException;

    /** Guest write-zeroes; accounted as a write. */
    void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException;

    /**
     * A request failed with error: applies rerror (isRead) or werror, emits BLOCK_IO_ERROR and, for stop,
     * asks the machine to stop in io-error. The device then completes the request with an error (REPORT),
     * as success (IGNORE), or keeps it to run again when {@link #setRetryHandler the VM resumes} (STOP).
     */
    ErrorAction handleError(boolean isRead, IOException error);

    /** A request the device refused before it reached the disk (out of range, bad size): invalid_* stats. */
    void accountInvalid(Operation op);

    /** Runs on the main loop each time the VM resumes after this drive stopped it, to resubmit kept requests. */
    void setRetryHandler(Runnable retry);

    /** Called with the new size after block_resize, so the device can tell the guest. */
    void addResizeListener(LongConsumer listener);

    /**
     * The guest switched its volatile write cache (virtio-blk's writeback field, or a driver that cannot
     * flush). Returns true when the backend itself now makes each write durable before returning (so the
     * device need not flush), false when it leaves that to the device.
     */
    default boolean setWriteCache(boolean enabled) {
        return false;
    }

    /**
     * Where an {@link AioEngine} may read and write guest bytes itself: the raw image's host descriptor, guest
     * byte N at file byte N, with the O_DIRECT alignment its buffers, offsets and lengths need. Null when requests
     * must go through {@link #readv}/{@link #writev}: a format or filter driver (qcow2, blkdebug), writethrough
     * (each write is followed by a flush), an empty drive.
     */
    default AioTarget aioTarget() {
        return null;
    }

    /** The drive's aio= mode (QEMU's file driver option): "threads", "native" or "io_uring". */
    default String aio() {
        return AioEngine.THREADS;
    }

    /** A request is handed to an engine: counts it in flight (a medium change waits for it); returns its start. */
    default long aioBegin() {
        return 0;
    }

    /**
     * The engine finished a request begun by {@link #aioBegin}: statistics as readv/writev keep them; after a
     * failure (errno non-zero) the caller asks {@link #handleError} on the same thread, as after a failed readv.
     */
    default void aioEnd(Operation op, long offset, long bytes, long start, int errno) {
    }

    /** A host descriptor an engine may use directly, and the alignment O_DIRECT wants there (1: none). */
    record AioTarget(int fd, int alignment) {
    }

    /** What a failed request does (QEMU's BlockErrorAction). */
    enum ErrorAction {
        IGNORE, REPORT, STOP;

        public String qapiName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Request kinds for accounting (query-blockstats' rd_, wr_, flush_ and unmap_ fields). */
    enum Operation { READ, WRITE, FLUSH, UNMAP }
}
