package dev.jvmm.core.block;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.os.LibC;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * A guest-facing drive (QEMU's BlockBackend) over the root node of a block graph: accounting, cache=
 * writethrough, werror/rerror with BLOCK_IO_ERROR and the io-error stop, io-status, block_resize, and
 * removable media: the medium (root node) can be removed and another inserted while the drive lives on, the
 * attached device's tray being asked through {@link RemovableMediaDevice} (QEMU's BlockDevOps).
 *
 * <p>Thread use: requests run on any thread (vCPU or block pool). {@link #handleError} must be called on
 * the thread whose request just failed, right after the failing call, because the failed request's kind
 * and start time are kept per thread until then (that keeps the request path free of allocation).
 */
public final class Drive implements BlockBackend, AutoCloseable {
    /** errno values QEMU's error policy looks at. */
    public static final int EIO = 5;
    public static final int ENOSPC = 28;

    private final String name;
    private volatile BlockNode root;
    /** Requests running now; a medium change waits for them (QEMU drains before blk_remove_bs). */
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile RemovableMediaDevice device;
    /** QEMU's root_state read-only flag: what blockdev-change-medium's read-only-mode=retain keeps. */
    private volatile boolean rootStateReadOnly;
    private volatile String qomPath;
    private volatile BlockErrorPolicy werror;
    private volatile BlockErrorPolicy rerror;
    private final boolean discardUnmap;
    private final EventBus events;
    private final Runnable ioErrorStop;
    private final BlockStats stats;
    private final CopyOnWriteArrayList<LongConsumer> resizeListeners = new CopyOnWriteArrayList<>();
    private final ThreadLocal<long[]> lastFailure = ThreadLocal.withInitial(() -> new long[] {-1, 0});
    private volatile DriveCache cache;
    private volatile IoStatus ioStatus = IoStatus.OK;
    private volatile boolean ioStatusEnabled;
    private volatile String qdev;
    private volatile Runnable retryHandler;
    private volatile String serial;
    private final EventBus.Subscriber resumeWatcher;
    private volatile String aio = AioEngine.THREADS;

    /**
     * @param name         the -drive id ("" for the anonymous backend a -device makes over a -blockdev node)
     * @param root         the root node; its driver serves the requests
     * @param cache        the cache mode (writeback off = flush after every write)
     * @param werror       write (and flush, discard) error policy
     * @param rerror       read error policy
     * @param discardUnmap discard=unmap: guest discards reach the image (-drive's default "ignore" drops them)
     * @param events       where BLOCK_IO_ERROR goes
     * @param mainLoop     the machine's main loop; the retry handler runs there on resume
     * @param ioErrorStop  asks the machine to stop in io-error (LifecycleController::requestIoErrorStop)
     */
    public Drive(String name, BlockNode root, DriveCache cache, BlockErrorPolicy werror, BlockErrorPolicy rerror,
            boolean discardUnmap, EventBus events, Executor mainLoop, Runnable ioErrorStop) {
        this(name, root, cache, werror, rerror, discardUnmap, events, mainLoop, ioErrorStop, new BlockStats());
    }

    public Drive(String name, BlockNode root, DriveCache cache, BlockErrorPolicy werror, BlockErrorPolicy rerror,
            boolean discardUnmap, EventBus events, Executor mainLoop, Runnable ioErrorStop, BlockStats stats) {
        this.name = name;
        this.root = root;
        this.rootStateReadOnly = root != null && root.readOnly();
        this.cache = cache;
        this.werror = werror;
        this.rerror = rerror;
        this.discardUnmap = discardUnmap;
        this.events = events;
        this.ioErrorStop = ioErrorStop;
        this.stats = stats;
        this.resumeWatcher = (e, t) -> {
            if (e instanceof VmEvent.Resume) {
                // QEMU's cont resets every drive's io-status before the VM runs again.
                ioStatus = IoStatus.OK;
                Runnable r = retryHandler;
                if (r != null) {
                    mainLoop.execute(r);
                }
            }
        };
        events.subscribe(resumeWatcher);
    }

    private BlockDriver driver() throws BlockException {
        BlockNode r = root;
        BlockDriver d = r == null ? null : r.driver();
        if (d == null) {
            throw new BlockException("No medium found");
        }
        return d;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String nodeName() {
        BlockNode r = root;
        return r == null ? "" : r.nodeName();
    }

    public BlockNode root() {
        return root;
    }

    @Override
    public long size() {
        BlockNode r = root;
        BlockDriver d = r == null ? null : r.driver();
        return d == null ? 0 : d.size();
    }

    @Override
    public boolean readOnly() {
        BlockNode r = root;
        return r != null && r.readOnly();
    }

    public DriveCache cache() {
        return cache;
    }

    /**
     * The guest turned its write cache on or off (virtio-blk without VIRTIO_BLK_F_FLUSH, or the
     * config-wce writeback field): QEMU then reports "writeback" accordingly and flushes every write.
     */
    @Override
    public boolean setWriteCache(boolean enabled) {
        cache = cache.withWriteback(enabled);
        return true;
    }

    /**
     * The device's werror=/rerror= properties (-device virtio-blk-pci,werror=stop): AUTO keeps the drive's
     * own policy, as QEMU's blkconf_apply_backend_options does.
     */
    public void applyDevicePolicy(BlockErrorPolicy deviceWerror, BlockErrorPolicy deviceRerror) {
        if (deviceWerror != null && deviceWerror != BlockErrorPolicy.AUTO) {
            werror = deviceWerror;
        }
        if (deviceRerror != null && deviceRerror != BlockErrorPolicy.AUTO) {
            rerror = deviceRerror;
        }
    }

    public BlockErrorPolicy werror() {
        return werror;
    }

    public BlockErrorPolicy rerror() {
        return rerror;
    }

    public BlockStats stats() {
        return stats;
    }

    public IoStatus ioStatus() {
        return ioStatus;
    }

    /** Whether query-block shows "io-status" (a device that tracks it is attached, as virtio-blk does). */
    public boolean ioStatusEnabled() {
        return ioStatusEnabled;
    }

    /**
     * QEMU's blk_iostatus_is_enabled: a device tracks io-status and the policy can stop the VM (werror
     * enospc or stop, or rerror stop). Only then does query-block show "io-status" and BLOCK_IO_ERROR carry
     * "nospace".
     */
    public boolean ioStatusShown() {
        return ioStatusEnabled && (werror == BlockErrorPolicy.ENOSPC || werror == BlockErrorPolicy.STOP
                || werror == BlockErrorPolicy.AUTO || rerror == BlockErrorPolicy.STOP);
    }

    /**
     * The serial= its -drive option carried, or null: jvmm still takes it there (QEMU 7.2 wants it on the
     * device), and a device without serial= of its own reports it.
     */
    public String serial() {
        return serial;
    }

    public void setSerial(String serial) {
        this.serial = serial;
    }

    /** The attached device's QOM path ("/machine/peripheral/ID/virtio-backend"), or null when none. */
    public String qdev() {
        return qdev;
    }

    /** Called by BlockGraph when a device takes this drive; io-status tracking starts then. */
    void attached(String qdevPath) {
        this.qdev = qdevPath;
        this.qomPath = qdevPath;
        this.ioStatusEnabled = true;
    }

    /**
     * Called by BlockGraph when a device with removable media takes this drive.
     *
     * @param qdev    what query-block shows as "qdev" and DEVICE_TRAY_MOVED as "id": the device id, or its QOM
     *                path when it has none
     * @param qomPath the device's QOM path ("/machine/peripheral/ID" for a device with an id), for id= lookups
     */
    void attached(String qdev, String qomPath, RemovableMediaDevice device) {
        this.qdev = qdev;
        this.qomPath = qomPath;
        this.device = device;
        this.ioStatusEnabled = true;
    }

    /** Called by BlockGraph when the device that took this drive failed to realize. */
    void detached() {
        this.qdev = null;
        this.qomPath = null;
        this.device = null;
        this.ioStatusEnabled = false;
    }

    /** The attached device's QOM path, or null when none is attached. */
    public String qomPath() {
        return qomPath;
    }

    // ---- removable media (QEMU's blk_dev_* helpers) ----

    /** QEMU's blk_dev_has_removable_media: no device at all, or a device with removable media. */
    public boolean removable() {
        return qdev == null || device != null;
    }

    /** Whether the attached device has a tray (query-block then shows "tray_open"). */
    public boolean hasTray() {
        RemovableMediaDevice d = device;
        return d != null && d.hasTray();
    }

    public boolean trayOpen() {
        RemovableMediaDevice d = device;
        return d != null && d.hasTray() && d.isTrayOpen();
    }

    /** query-block's "locked": the guest locked the medium in. */
    public boolean mediumLocked() {
        RemovableMediaDevice d = device;
        return d != null && d.isMediumLocked();
    }

    /** Whether a medium (root node) is inserted. */
    public boolean hasMedium() {
        return root != null;
    }

    @Override
    public boolean isInserted() {
        return root != null;
    }

    /** The read-only state blockdev-change-medium's read-only-mode=retain keeps (QEMU's root state). */
    public boolean rootStateReadOnly() {
        BlockNode r = root;
        return r != null ? r.readOnly() : rootStateReadOnly;
    }

    void setRootStateReadOnly(boolean ro) {
        rootStateReadOnly = ro;
    }

    /**
     * QEMU's blk_dev_change_media_cb: tells the device to open (load false) or close (load true) its tray and
     * sends DEVICE_TRAY_MOVED when the tray really moved. Main loop only.
     */
    void changeMedia(boolean load) {
        RemovableMediaDevice d = device;
        if (d == null) {
            return;
        }
        boolean was = d.hasTray() && d.isTrayOpen();
        d.changeMedia(load);
        boolean now = d.hasTray() && d.isTrayOpen();
        if (was != now) {
            events.publish(new VmEvent.DeviceTrayMoved(name, qdev, now));
        }
    }

    /** Runs a medium command's steps with the device's registers held (see RemovableMediaDevice#exclusive). */
    <E extends Exception> void exclusive(RemovableMediaDevice.Steps<E> steps) throws E {
        RemovableMediaDevice d = device;
        if (d == null) {
            steps.run();
        } else {
            d.exclusive(steps);
        }
    }

    /** QEMU's blk_dev_eject_request: a locked device is asked to open its tray. */
    void ejectRequest(boolean force) {
        RemovableMediaDevice d = device;
        if (d != null) {
            d.ejectRequest(force);
        }
    }

    /**
     * The guest moved the tray itself (ATAPI START STOP UNIT with LoEj; QEMU's blk_eject): the device has
     * already changed its own state, this only reports it. QEMU sends the event even when the tray did not
     * move, and so does this. Any thread.
     */
    @Override
    public void guestTrayMoved(boolean open) {
        events.publish(new VmEvent.DeviceTrayMoved(name, qdev, open));
    }

    /**
     * Takes the medium out (QEMU's blk_remove_bs): waits for requests in progress, then the drive is empty.
     * Returns the old root, for the graph to close or keep; null when there was none.
     */
    BlockNode removeMedium() {
        BlockNode old = root;
        if (old == null) {
            return null;
        }
        rootStateReadOnly = old.readOnly();
        root = null;
        while (inFlight.get() != 0) {
            LockSupport.parkNanos(50_000);
        }
        return old;
    }

    /** Puts a medium in (QEMU's blk_insert_bs); the drive must be empty. */
    void insertMedium(BlockNode node) {
        root = node;
        rootStateReadOnly = node.readOnly();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        readv(offset, new ByteBuffer[] {dst});
    }

    @Override
    public void readv(long offset, ByteBuffer[] dsts) throws IOException {
        long t0 = stats.now();
        long n = remaining(dsts);
        inFlight.incrementAndGet();
        try {
            driver().readv(offset, dsts);
        } catch (IOException | RuntimeException e) {
            remember(Operation.READ, t0);
            throw e;
        } finally {
            inFlight.decrementAndGet();
        }
        stats.done(Operation.READ, n, t0);
    }

    private static long remaining(ByteBuffer[] buffers) {
        long n = 0;
        for (ByteBuffer b : buffers) {
            n += b.remaining();
        }
        return n;
    }

    @Override
    public void readInternal(long offset, ByteBuffer dst) throws IOException {
        driver().read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        writev(offset, new ByteBuffer[] {src});
    }

    @Override
    public void writev(long offset, ByteBuffer[] srcs) throws IOException {
        long t0 = stats.now();
        long n = remaining(srcs);
        writeRequest(offset, n, t0, d -> d.writev(offset, srcs));
    }

    /** What a write-like request does to the root driver. */
    @FunctionalInterface
    private interface WriteOp {
        void run(BlockDriver driver) throws IOException;
    }

    /**
     * A write or write-zeroes: permission check, the operation, the writethrough flush, accounting and
     * wr_highest_offset (which counts a write that reached the graph even when it failed).
     */
    private void writeRequest(long offset, long length, long t0, WriteOp op) throws IOException {
        BlockNode r = null;
        boolean reached = false;
        inFlight.incrementAndGet();
        try {
            r = root;
            checkWritable();
            reached = true;
            op.run(driver());
            if (!cache.writeback()) {
                flushDriver();
            }
        } catch (IOException | RuntimeException e) {
            if (reached) {
                highestOffset(r, offset, length, true);
            }
            remember(Operation.WRITE, t0);
            throw e;
        } finally {
            inFlight.decrementAndGet();
        }
        highestOffset(r, offset, length, false);
        stats.done(Operation.WRITE, length, t0);
    }

    /** -drive aio= or the file node's -blockdev aio=. */
    public void setAio(String mode) {
        aio = mode;
    }

    @Override
    public String aio() {
        return aio;
    }

    /** Only a raw image under a write-back cache: anything else needs the synchronous path's work around I/O. */
    @Override
    public AioTarget aioTarget() {
        BlockNode r = root;
        if (r == null || !cache.writeback() || !(r.driver() instanceof RawImage raw)) {
            return null;
        }
        return raw.aioTarget();
    }

    @Override
    public long aioBegin() {
        inFlight.incrementAndGet();
        return stats.now();
    }

    @Override
    public void aioEnd(Operation op, long offset, long bytes, long start, int errno) {
        inFlight.decrementAndGet();
        if (op == Operation.WRITE) {
            highestOffset(root, offset, bytes, errno != 0);
        }
        if (errno != 0) {
            remember(op, start);
        } else {
            stats.done(op, bytes, start);
        }
    }

    @Override
    public void flush() throws IOException {
        long t0 = stats.now();
        inFlight.incrementAndGet();
        try {
            flushDriver();
        } catch (IOException | RuntimeException e) {
            remember(Operation.FLUSH, t0);
            throw e;
        } finally {
            inFlight.decrementAndGet();
        }
        stats.done(Operation.FLUSH, 0, t0);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        long t0 = stats.now();
        inFlight.incrementAndGet();
        try {
            // discard=ignore (the default) drops the request before any permission check, as QEMU does.
            if (discardUnmap) {
                checkWritable();
                driver().discard(offset, length);
            }
        } catch (IOException | RuntimeException e) {
            remember(Operation.UNMAP, t0);
            throw e;
        } finally {
            inFlight.decrementAndGet();
        }
        stats.done(Operation.UNMAP, length, t0);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        long t0 = stats.now();
        writeRequest(offset, length, t0, d -> d.writeZeroes(offset, length, mayUnmap && discardUnmap));
    }

    /** wr_highest_offset of the drive and its nodes: a write that reached the graph counts, done or failed. */
    private void highestOffset(BlockNode r, long offset, long length, boolean failed) {
        stats.wrote(offset, length);
        if (r != null) {
            r.wrote(offset, length, failed);
        }
    }

    private void flushDriver() throws IOException {
        if (!cache.noFlush()) {
            driver().flush();
        }
    }

    private void checkWritable() throws BlockException {
        if (readOnly()) {
            throw new BlockException("Block node is read-only");
        }
    }

    private void remember(Operation op, long t0) {
        long[] f = lastFailure.get();
        f[0] = op.ordinal();
        f[1] = t0;
    }

    @Override
    public ErrorAction handleError(boolean isRead, IOException error) {
        int errno = errnoOf(error);
        boolean nospace = errno == ENOSPC;
        ErrorAction action = (isRead ? rerror : werror).actionFor(isRead, nospace);
        long[] f = lastFailure.get();
        if (f[0] >= 0) {
            Operation op = Operation.values()[(int) f[0]];
            f[0] = -1;
            // virtio-blk's accounting: a reported error counts as failed, an ignored one as done, a stopped
            // request is accounted when it finally completes after cont.
            if (action == ErrorAction.REPORT) {
                stats.failed(op, f[1]);
            } else if (action == ErrorAction.IGNORE) {
                stats.done(op, 0, f[1]);
            }
        }
        if (action == ErrorAction.STOP && ioStatusShown() && ioStatus == IoStatus.OK) {
            ioStatus = nospace ? IoStatus.NOSPACE : IoStatus.FAILED;
        }
        BlockNode r = root;
        events.publish(new VmEvent.BlockIoError(name, r == null ? null : r.nodeName(), isRead ? "read" : "write",
                action.qapiName(), ioStatusShown() ? nospace : null, reason(errno, error)));
        if (action == ErrorAction.STOP) {
            ioErrorStop.run();
        }
        return action;
    }

    /** The host errno behind an I/O failure: the one it carries, or read from its text; EIO when it cannot be told. */
    public static int errnoOf(IOException e) {
        if (e instanceof HostIoException h) {
            return h.errno();
        }
        String m = e.getMessage();
        if (m != null && m.contains("No space left on device")) {
            return ENOSPC;
        }
        return EIO;
    }

    private static String reason(int errno, IOException e) {
        try {
            return LibC.describe(errno);
        } catch (RuntimeException | LinkageError x) {
            return errno == ENOSPC ? "No space left on device" : "Input/output error";
        }
    }

    @Override
    public void accountInvalid(Operation op) {
        stats.invalid(op);
    }

    @Override
    public void setRetryHandler(Runnable retry) {
        this.retryHandler = retry;
    }

    @Override
    public void addResizeListener(LongConsumer listener) {
        resizeListeners.add(listener);
    }

    /** Stops watching the bus; the images are the graph's to close. */
    @Override
    public void close() {
        events.unsubscribe(resumeWatcher);
    }

    /** block_resize on this drive's root; listeners (the device) learn the new size. */
    public void resize(long newSize) throws IOException {
        driver().truncate(newSize);
        long s = driver().size();
        for (LongConsumer l : List.copyOf(resizeListeners)) {
            l.accept(s);
        }
    }
}
