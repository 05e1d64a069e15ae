package dev.jvmm.devices.virtio;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;
import java.nio.ByteBuffer;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Virtio 1.1, section 5.5: the traditional memory balloon, behaving as QEMU 7.2's virtio-balloon
 * (hw/virtio/virtio-balloon.c): same features offered, same configuration layout, same handling of page
 * numbers, statistics and the guest-stats polling timer.
 *
 * <p>The host asks for a balloon size through num_pages ({@link #setTarget}); the driver gives pages on the
 * inflate queue, takes them back on the deflate queue, and reports how many it holds in actual (each change
 * is reported through the listener, for BALLOON_CHANGE). Inflated pages are discarded from the host mapping
 * ({@link GuestMemory#discard}); deflated ones need nothing, they fault back in when touched. 2 MiB blocks
 * holding ballooned pages are kept from transparent huge pages meanwhile (see {@link #track}). Page numbers
 * outside guest RAM, in the PCI hole or in the legacy VGA/BIOS window, trailing bytes that make no whole page
 * number, and device-writable buffers are ignored, as QEMU ignores them.
 *
 * <p>Threads: configuration accesses come on vCPU threads under the transport's lock; queues are served on
 * the transport's device thread; {@link #setTarget}, the statistics getters and the polling interval are for
 * the QMP side. The statistics are guarded by their own lock.
 */
public final class VirtioBalloon implements VirtioDevice {
    /**
     * QEMU's virtio-balloon-device, the backend of virtio-balloon-pci ({@link VirtioBalloonPci}). iothread serves
     * free page hinting only, which jvmm does not model: iothread stays unset, and free-page-hint, which needs
     * one, is refused at realize.
     * guest-stats and guest-stats-polling-interval are QOM properties made live on the node.
     */
    public static final TypeInfo TYPE = TypeInfo.type("virtio-balloon-device", "virtio-device").category("Misc")
            .props(Property.object("legacy-iothread", PropType.object("str")),
                    Property.of("iothread", PropType.settableLink("iothread"))
                            .only("iothread=VALUE is not supported by jvmm: the balloon has no free page hinting", ""),
                    Property.of("deflate-on-oom", PropType.BIT, false),
                    Property.of("free-page-hint", PropType.BIT, false),
                    Property.of("page-poison", PropType.BIT, true),
                    Property.fixed("qemu-4-0-config-size", PropType.BOOL, false)
                            .only("property 'qemu-4-0-config-size=VALUE' is not supported by jvmm", false),
                    Property.of("free-page-reporting", PropType.BIT, false),
                    Property.of("guest-stats-polling-interval", PropType.INT),
                    Property.object("guest-stats", PropType.object("guest statistics")))
            .build();

    /** Section 5.5.1: virtio device ID. */
    public static final int VIRTIO_ID_BALLOON = 5;
    /** QEMU's PCI_CLASS_OTHERS (class 0x00, sub-class 0xff) for virtio-balloon-pci; query-pci names it not. */
    public static final int PCI_CLASS_OTHERS = 0x00ff00;

    /** Section 5.5.3: feature bits. */
    public static final int VIRTIO_BALLOON_F_MUST_TELL_HOST = 0;
    public static final int VIRTIO_BALLOON_F_STATS_VQ = 1;
    public static final int VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 2;
    public static final int VIRTIO_BALLOON_F_FREE_PAGE_HINT = 3;
    public static final int VIRTIO_BALLOON_F_PAGE_POISON = 4;
    public static final int VIRTIO_BALLOON_F_REPORTING = 5;

    /** Section 5.5.2: virtqueues. */
    public static final int INFLATEQ = 0;
    public static final int DEFLATEQ = 1;
    public static final int STATSQ = 2;
    /** The free page reporting queue follows statsq when free-page-hint is off (always, here). */
    public static final int REPORTING_VQ = 3;
    /** QEMU's queue sizes: 128 for inflate, deflate and stats, 32 for reporting. */
    public static final int BALLOON_QUEUE_SIZE = 128;
    public static final int REPORTING_QUEUE_SIZE = 32;

    /** Section 5.5.4: struct virtio_balloon_config offsets. */
    public static final int CFG_NUM_PAGES = 0x0;
    public static final int CFG_ACTUAL = 0x4;
    public static final int CFG_FREE_PAGE_HINT_CMD_ID = 0x8;
    public static final int CFG_POISON_VAL = 0xc;
    /** QEMU's config size: the whole structure with page-poison, up to free_page_hint_cmd_id without. */
    public static final int CONFIG_LENGTH_POISON = 0x10;
    public static final int CONFIG_LENGTH_BASIC = 0x8;

    /** Section 5.5.6: balloon pages are 4 KiB whatever the guest's page size. */
    public static final int VIRTIO_BALLOON_PFN_SHIFT = 12;
    public static final long BALLOON_PAGE_SIZE = 1L << VIRTIO_BALLOON_PFN_SHIFT;

    /** Section 5.5.6.3: struct virtio_balloon_stat is a le16 tag and a le64 value, packed. */
    public static final int STAT_SIZE = 10;
    /** Section 5.5.6.3: the statistics tags QEMU 7.2 knows (VIRTIO_BALLOON_S_NR = 10). */
    public static final int VIRTIO_BALLOON_S_SWAP_IN = 0;
    public static final int VIRTIO_BALLOON_S_SWAP_OUT = 1;
    public static final int VIRTIO_BALLOON_S_MAJFLT = 2;
    public static final int VIRTIO_BALLOON_S_MINFLT = 3;
    public static final int VIRTIO_BALLOON_S_MEMFREE = 4;
    public static final int VIRTIO_BALLOON_S_MEMTOT = 5;
    public static final int VIRTIO_BALLOON_S_AVAIL = 6;
    public static final int VIRTIO_BALLOON_S_CACHES = 7;
    public static final int VIRTIO_BALLOON_S_HTLB_PGALLOC = 8;
    public static final int VIRTIO_BALLOON_S_HTLB_PGFAIL = 9;
    public static final int VIRTIO_BALLOON_S_NR = 10;
    /** guest-stats member names, by tag (QEMU's balloon_stat_names). */
    public static final List<String> STAT_NAMES = List.of("stat-swap-in", "stat-swap-out", "stat-major-faults",
            "stat-minor-faults", "stat-free-memory", "stat-total-memory", "stat-available-memory",
            "stat-disk-caches", "stat-htlb-pgalloc", "stat-htlb-pgfail");
    /** A statistic the guest did not report reads as all ones (QEMU's reset_stats, shown as a uint64). */
    public static final long STAT_UNSET = -1L;
    /** QEMU 7.2's upper bound on guest-stats-polling-interval (UINT32_MAX seconds). */
    public static final long MAX_POLL_INTERVAL = 0xffff_ffffL;

    /**
     * Guest RAM QEMU never discards for the balloon: the VGA window, SMRAM and the option ROM/BIOS area
     * (0xa0000-0xfffff) are MMIO or ROM there, not RAM; here they are RAM but hold the firmware tables.
     */
    static final long LEGACY_HOLE_START = 0xa0000;
    static final long LEGACY_HOLE_END = 0x100000;

    /** 4 KiB pages per transparent huge page (2 MiB), as a shift. */
    private static final int BLOCK_SHIFT = 9;

    /** Bytes of page numbers or statistics copied out of a chain at a time (multiple of 4 and of 10). */
    private static final int CHUNK = 4000;

    /** A snapshot of guest-stats: the last-update time (seconds since the epoch, 0 never) and stats by tag. */
    public record GuestStats(long lastUpdate, long[] stats) {
        public GuestStats {
            stats = stats.clone();
        }

        @Override
        public long[] stats() {
            return stats.clone();
        }
    }

    private final VirtioBalloonOptions opts;
    private final long ramSize;
    private final LongConsumer actualListener;
    private final VirtualClock.Timer pollTimer;
    private final byte[] config = new byte[CONFIG_LENGTH_POISON];
    private final byte[] chunk = new byte[CHUNK];
    /** Device thread only: the page addresses of one chunk to discard, sorted into runs. */
    private final long[] toDiscard = new long[CHUNK / 4];
    private VirtioHost host;
    private GuestMemory mem;

    /** num_pages: what the host asks for (QMP side writes, vCPU side reads). */
    private volatile int numPages;
    /** actual: what the driver says it holds (written through configuration space). */
    private volatile int actual;
    /** poison_val, kept only while PAGE_POISON is negotiated; free page reporting skips discards when set. */
    private volatile int poisonVal;

    // Statistics, guarded by statsLock.
    private final Object statsLock = new Object();
    private final long[] stats = new long[VIRTIO_BALLOON_S_NR];
    private long lastUpdate;
    private long pollInterval;

    // Device thread only: the stats buffer the driver gave and the device keeps until the next poll.
    private VirtQueue statsQueue;
    private int statsHead = -1;

    /**
     * Device thread only: the RAM pages the driver holds in the balloon (by page number) and, per 2 MiB
     * block, how many. A block with ballooned pages is advised MADV_NOHUGEPAGE while it has any: otherwise
     * khugepaged (which collapses blocks with up to max_ptes_none empty pages, 511 by default) would make it
     * a huge page again within minutes and silently fill the discarded pages, undoing the balloon (measured:
     * docs/benchmarks.md). QEMU 7.2 does not do this; it changes nothing the guest can see.
     */
    private final BitSet ballooned = new BitSet();
    private final Map<Long, Integer> blockPages = new HashMap<>();

    /**
     * @param ramSize        the machine's RAM size (-m), which query-balloon and BALLOON_CHANGE count from
     * @param actualListener told guest RAM minus the balloon, in bytes, each time the driver changes actual
     *                       (vCPU thread, under the transport's lock: must not block)
     * @param clock          guest time, which the guest-stats polling timer follows (QEMU's virtual clock: it
     *                       stands still while the VM is stopped, so nothing is handed back to a stopped guest)
     */
    public VirtioBalloon(VirtioBalloonOptions opts, long ramSize, LongConsumer actualListener, VirtualClock clock) {
        this.opts = opts;
        this.ramSize = ramSize;
        this.actualListener = actualListener;
        this.pollTimer = clock.newTimer(this::pollTimerExpired);
        Arrays.fill(stats, STAT_UNSET);
    }

    /** The usual assembly: a virtio-balloon-pci function, without MSI-X as in QEMU. */
    public static VirtioPciTransport pci(GuestMemory mem, VirtioBalloon balloon, MsiRouter msi,
                                         IoEventRegistry ioevents) {
        return new VirtioPciTransport(mem, balloon, msi, ioevents, balloon.opts.id());
    }

    public VirtioBalloonOptions options() {
        return opts;
    }

    @Override
    public int deviceType() {
        return VIRTIO_ID_BALLOON;
    }

    @Override
    public int pciClassCode() {
        return PCI_CLASS_OTHERS;
    }

    @Override
    public String pciDescription() {
        return null; // QEMU has no name for class 0x00ff: query-pci leaves "desc" out
    }

    @Override
    public String threadName() {
        return "virtio-balloon" + (opts.id().isEmpty() ? "" : "-" + opts.id());
    }

    /** QEMU's virtio-balloon-pci has no "vectors" property, so no MSI-X: INTx only. */
    @Override
    public int msixVectors() {
        return 0;
    }

    /** QEMU 7.2's virtio_balloon_get_features: the properties' bits plus STATS_VQ, always. */
    @Override
    public long deviceFeatures() {
        long f = 1L << VIRTIO_BALLOON_F_STATS_VQ;
        if (opts.deflateOnOom()) {
            f |= 1L << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
        }
        if (opts.pagePoison()) {
            f |= 1L << VIRTIO_BALLOON_F_PAGE_POISON;
        }
        if (opts.freePageReporting()) {
            f |= 1L << VIRTIO_BALLOON_F_REPORTING;
        }
        return f;
    }

    @Override
    public int queueCount() {
        return opts.freePageReporting() ? 4 : 3;
    }

    @Override
    public int queueMaxSize(int i) {
        return i == REPORTING_VQ ? REPORTING_QUEUE_SIZE : BALLOON_QUEUE_SIZE;
    }

    /** QEMU's virtio_balloon_config_size (free-page-hint is never offered here). */
    @Override
    public int configLength() {
        return opts.pagePoison() ? CONFIG_LENGTH_POISON : CONFIG_LENGTH_BASIC;
    }

    @Override
    public void attach(VirtioHost host) {
        this.host = host;
        this.mem = host.memory();
    }

    /**
     * QEMU's virtio_config_modern_read: the buffer is refilled from the device state (get_config) on every
     * read, so a later partial write of actual keeps the bytes last read.
     */
    @Override
    public int readConfig(int offset, int size) {
        putLe32(CFG_NUM_PAGES, numPages);
        putLe32(CFG_ACTUAL, actual);
        putLe32(CFG_FREE_PAGE_HINT_CMD_ID, 0); // VIRTIO_BALLOON_CMD_ID_STOP: free page hinting is off
        putLe32(CFG_POISON_VAL, poisonVal);
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= (config[offset + i] & 0xff) << (8 * i);
        }
        return v;
    }

    /**
     * QEMU's virtio_config_modern_write then virtio_balloon_set_config: the bytes land in the buffer and the
     * whole buffer is taken as the driver's: actual (a change is reported) and, with PAGE_POISON, poison_val.
     */
    @Override
    public void writeConfig(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            config[offset + i] = (byte) (value >>> (8 * i));
        }
        int old = actual;
        int now = le32(CFG_ACTUAL);
        actual = now;
        if (now != old && actualListener != null) {
            actualListener.accept(actualBytes());
        }
        poisonVal = (host.negotiatedFeatures() & 1L << VIRTIO_BALLOON_F_PAGE_POISON) != 0
                && configLength() > CFG_POISON_VAL ? le32(CFG_POISON_VAL) : 0;
    }

    private void putLe32(int off, int v) {
        for (int i = 0; i < 4 && off + i < config.length; i++) {
            config[off + i] = (byte) (v >>> (8 * i));
        }
    }

    private int le32(int off) {
        return (config[off] & 0xff) | (config[off + 1] & 0xff) << 8 | (config[off + 2] & 0xff) << 16
                | (config[off + 3] & 0xff) << 24;
    }

    // ---- the host side (QMP)

    /**
     * QEMU's virtio_balloon_to_target: asks the driver to leave the guest target bytes (clamped to RAM); a
     * target of 0 changes nothing. The QMP layer refuses targets below 1 before this.
     */
    public void setTarget(long target) {
        long t = Math.min(target, ramSize);
        if (t > 0) {
            numPages = (int) ((ramSize - t) >>> VIRTIO_BALLOON_PFN_SHIFT);
            host.configChanged();
        }
    }

    /** query-balloon's actual: RAM minus the pages the driver says it holds, in bytes. */
    public long actualBytes() {
        return ramSize - ((actual & 0xffff_ffffL) << VIRTIO_BALLOON_PFN_SHIFT);
    }

    /** The balloon size asked for, in 4 KiB pages (config num_pages). */
    public long numPages() {
        return numPages & 0xffff_ffffL;
    }

    /** The balloon size the driver reports, in 4 KiB pages (config actual). */
    public long actualPages() {
        return actual & 0xffff_ffffL;
    }

    public long ramSize() {
        return ramSize;
    }

    public GuestStats guestStats() {
        synchronized (statsLock) {
            return new GuestStats(lastUpdate, stats);
        }
    }

    public long statsPollInterval() {
        synchronized (statsLock) {
            return pollInterval;
        }
    }

    /**
     * qom-set guest-stats-polling-interval (QEMU's balloon_stats_set_poll_interval): 0 stops polling; a new
     * interval takes effect at once, and turning polling on asks for statistics immediately.
     *
     * @throws IllegalArgumentException with QEMU's text for a negative or too large value
     */
    public void setStatsPollInterval(long seconds) {
        checkPollInterval(seconds);
        synchronized (statsLock) {
            if (seconds == pollInterval) {
                return;
            }
            boolean wasEnabled = pollInterval > 0;
            pollInterval = seconds;
            if (seconds == 0) {
                cancelTimer();
            } else {
                scheduleTimer(wasEnabled ? seconds : 0);
            }
        }
    }

    /** QEMU's checks of a polling interval, with its texts (IllegalArgumentException). */
    public static void checkPollInterval(long seconds) {
        if (seconds < 0) {
            throw new IllegalArgumentException("timer value must be greater than zero");
        }
        if (seconds > MAX_POLL_INTERVAL) {
            throw new IllegalArgumentException("timer value is too big");
        }
    }

    /** Holding statsLock: disarms the polling timer (QEMU's timer_del). */
    private void cancelTimer() {
        pollTimer.cancel();
    }

    /** Holding statsLock: (re)arms the polling timer to fire after the given guest seconds (timer_mod). */
    private void scheduleTimer(long seconds) {
        pollTimer.modIn(TimeUnit.SECONDS.toNanos(seconds));
    }

    /** The polling timer fired (timer thread): unless re-armed or cancelled meanwhile, poll on the device thread. */
    private void pollTimerExpired() {
        synchronized (statsLock) {
            if (!pollTimer.claimExpiry()) {
                return;
            }
        }
        host.execute(this::pollStats);
    }

    private boolean statsNegotiated() {
        return (host.negotiatedFeatures() & 1L << VIRTIO_BALLOON_F_STATS_VQ) != 0;
    }

    /**
     * QEMU's balloon_stats_poll_cb (device thread): hands the kept stats buffer back so the driver refills
     * it; with no buffer yet, tries again after the interval.
     */
    private void pollStats() {
        if (statsHead < 0 || statsQueue == null || !statsNegotiated()) {
            synchronized (statsLock) {
                if (pollInterval > 0) {
                    scheduleTimer(pollInterval);
                }
            }
            return;
        }
        statsQueue.push(statsHead, 0);
        statsHead = -1;
        host.notifyUsed(statsQueue);
    }

    // ---- the queues (device thread)

    @Override
    public boolean handle(VirtQueue queue, DescriptorChain chain) {
        switch (queue.index()) {
            case INFLATEQ, DEFLATEQ -> {
                pages(chain, queue.index() == INFLATEQ);
                queue.push(chain.head(), 0);
            }
            case STATSQ -> receiveStats(queue, chain);
            default -> {
                report(chain);
                queue.push(chain.head(), 0);
            }
        }
        return true;
    }

    /**
     * QEMU's virtio_balloon_handle_output: every whole le32 page number of the readable stream; pages of RAM
     * are discarded on inflate and left alone on deflate. The page numbers of each chunk are sorted first, so
     * that a run of pages costs one madvise in whatever order the driver lists them (the tiny guest and
     * Linux both hand pages out top-down; QEMU makes one call per page).
     */
    private void pages(DescriptorChain c, boolean inflate) {
        long offset = 0;
        while (true) {
            int n = c.readFromReadable(mem, offset, chunk, CHUNK) & ~3;
            int count = 0;
            for (int i = 0; i < n; i += 4) {
                long pfn = (chunk[i] & 0xffL) | (chunk[i + 1] & 0xffL) << 8 | (chunk[i + 2] & 0xffL) << 16
                        | (chunk[i + 3] & 0xffL) << 24;
                long pa = pfn << VIRTIO_BALLOON_PFN_SHIFT;
                if (!isBalloonRam(pa, BALLOON_PAGE_SIZE)) {
                    continue;
                }
                track(pfn, inflate);
                if (inflate) {
                    toDiscard[count++] = pa;
                }
            }
            if (count > 0) {
                discardRuns(count);
            }
            offset += n;
            if (n < CHUNK) {
                break;
            }
        }
    }

    /** Discards the first count page addresses of toDiscard, one madvise per run of adjacent pages. */
    private void discardRuns(int count) {
        Arrays.sort(toDiscard, 0, count);
        long runStart = toDiscard[0];
        long runEnd = runStart + BALLOON_PAGE_SIZE;
        for (int i = 1; i < count; i++) {
            long pa = toDiscard[i];
            if (pa < runEnd) {
                continue; // the same page listed twice
            }
            if (pa == runEnd && mem.contains(runStart, runEnd + BALLOON_PAGE_SIZE - runStart)) {
                runEnd += BALLOON_PAGE_SIZE;
                continue;
            }
            mem.discard(runStart, runEnd - runStart);
            runStart = pa;
            runEnd = pa + BALLOON_PAGE_SIZE;
        }
        mem.discard(runStart, runEnd - runStart);
    }

    /** Counts pfn in or out of the balloon and advises its 2 MiB block when it gains its first or loses its last. */
    private void track(long pfn, boolean in) {
        int bit = (int) pfn; // RAM page numbers stay far below 2^31
        if (ballooned.get(bit) == in) {
            return; // the driver gave the page twice, or took back one it never gave
        }
        ballooned.set(bit, in);
        long block = pfn >>> BLOCK_SHIFT;
        int count = blockPages.getOrDefault(block, 0) + (in ? 1 : -1);
        if (count == 0) {
            blockPages.remove(block);
            mem.adviseHugePages(block << (BLOCK_SHIFT + VIRTIO_BALLOON_PFN_SHIFT), true);
        } else {
            blockPages.put(block, count);
            if (count == 1 && in) {
                mem.adviseHugePages(block << (BLOCK_SHIFT + VIRTIO_BALLOON_PFN_SHIFT), false);
            }
        }
    }

    /** The 2 MiB blocks holding ballooned pages (tests and diagnostics; device thread). */
    int balloonedBlocks() {
        return blockPages.size();
    }

    /** Whether [pa, pa+len) is guest RAM the balloon may discard. */
    private boolean isBalloonRam(long pa, long len) {
        return mem.contains(pa, len) && (pa + len <= LEGACY_HOLE_START || pa >= LEGACY_HOLE_END);
    }

    /**
     * QEMU's virtio_balloon_receive_stats: returns the buffer kept before (a driver that breaks the rules),
     * keeps this one for the next poll, and takes its statistics; unknown tags and a trailing partial entry
     * are ignored.
     */
    private void receiveStats(VirtQueue queue, DescriptorChain c) {
        statsQueue = queue;
        if (statsHead >= 0) {
            queue.push(statsHead, 0);
        }
        statsHead = c.head();
        long[] fresh = new long[VIRTIO_BALLOON_S_NR];
        Arrays.fill(fresh, STAT_UNSET);
        long offset = 0;
        while (true) {
            int n = c.readFromReadable(mem, offset, chunk, CHUNK);
            int whole = n - n % STAT_SIZE;
            for (int i = 0; i < whole; i += STAT_SIZE) {
                int tag = (chunk[i] & 0xff) | (chunk[i + 1] & 0xff) << 8;
                long val = 0;
                for (int b = 7; b >= 0; b--) {
                    val = val << 8 | (chunk[i + 2 + b] & 0xffL);
                }
                if (tag < VIRTIO_BALLOON_S_NR) {
                    fresh[tag] = val;
                }
            }
            offset += whole;
            if (n < CHUNK) {
                break;
            }
        }
        synchronized (statsLock) {
            System.arraycopy(fresh, 0, stats, 0, VIRTIO_BALLOON_S_NR);
            lastUpdate = System.currentTimeMillis() / 1000;
            if (pollInterval > 0) {
                scheduleTimer(pollInterval);
            }
        }
    }

    /**
     * QEMU's virtio_balloon_handle_report: each device-writable buffer that is page aligned RAM is
     * discarded, unless the driver poisons free pages (their contents must then survive).
     */
    private void report(DescriptorChain c) {
        if (poisonVal != 0) {
            return;
        }
        for (int i = c.readableSegments(); i < c.segments(); i++) {
            long a = c.address(i);
            long l = c.length(i);
            if (((a | l) & (BALLOON_PAGE_SIZE - 1)) == 0 && isBalloonRam(a, l)) {
                mem.discard(a, l);
            }
        }
    }

    /**
     * QEMU's virtio_balloon_device_reset: the kept stats buffer is dropped with the queue and poison_val
     * cleared; num_pages, actual and the statistics stay (query-balloon keeps its value over a reboot).
     */
    /**
     * Target and actual size, the configuration bytes, the statistics and their polling (interval and the
     * timer's guest-time deadline), the stats buffer the device holds, and the ballooned pages.
     */
    @Override
    public void saveState(StateWriter w) {
        w.u64("ram-size", ramSize).u32("num-queues", queueCount()).u32("config-length", configLength());
        w.u32("num-pages", numPages).u32("actual", actual).u32("poison-val", poisonVal).bytes("config", config);
        synchronized (statsLock) {
            ByteBuffer b = ByteBuffer.allocate(8 * VIRTIO_BALLOON_S_NR);
            b.asLongBuffer().put(stats);
            w.bytes("stats", b.array()).u64("last-update", lastUpdate).u64("poll-interval", pollInterval)
                    .u64("poll-deadline", pollTimer.deadline());
        }
        w.bool("stats-buffer", statsQueue != null).u16("stats-head", statsHead & 0xffff)
                .bytes("ballooned", ballooned.toByteArray());
    }

    @Override
    public void loadState(StateReader r) throws StateException {
        r.expectU64("ram-size", ramSize);
        r.expectU32("num-queues", queueCount());
        r.expectU32("config-length", configLength());
        int np = r.u32("num-pages");
        int act = r.u32("actual");
        int pv = r.u32("poison-val");
        byte[] cfg = new byte[config.length];
        r.bytes("config", cfg);
        long[] st = new long[VIRTIO_BALLOON_S_NR];
        byte[] sb = new byte[8 * VIRTIO_BALLOON_S_NR];
        r.bytes("stats", sb);
        ByteBuffer.wrap(sb).asLongBuffer().get(st);
        long last = r.u64("last-update");
        long interval = r.u64("poll-interval");
        if (interval < 0 || interval > MAX_POLL_INTERVAL) {
            throw r.invalid("poll-interval", Long.toUnsignedString(interval) + " s is out of range");
        }
        long deadline = r.u64("poll-deadline");
        if (deadline < -1) {
            throw r.invalid("poll-deadline", Long.toString(deadline));
        }
        boolean buffer = r.bool("stats-buffer");
        int head = r.u16("stats-head");
        if (head != 0xffff && head >= host.queue(STATSQ).size()) {
            throw r.invalid("stats-head", head + " is outside the stats queue");
        }
        BitSet pages = BitSet.valueOf(r.bytes("ballooned"));
        if (pages.length() > 0 && !mem.contains((long) (pages.length() - 1) << VIRTIO_BALLOON_PFN_SHIFT,
                BALLOON_PAGE_SIZE)) {
            throw r.invalid("ballooned", "a page beyond RAM");
        }
        reset();
        numPages = np;
        actual = act;
        poisonVal = pv;
        System.arraycopy(cfg, 0, config, 0, cfg.length);
        synchronized (statsLock) {
            System.arraycopy(st, 0, stats, 0, st.length);
            lastUpdate = last;
            pollInterval = interval;
            if (deadline >= 0) {
                pollTimer.modNanos(deadline);
            } else {
                pollTimer.cancel();
            }
        }
        statsQueue = buffer ? host.queue(STATSQ) : null;
        statsHead = head == 0xffff ? -1 : head;
        for (int pfn = pages.nextSetBit(0); pfn >= 0; pfn = pages.nextSetBit(pfn + 1)) {
            track(pfn, true);
        }
    }

    @Override
    public void reset() {
        // a new driver starts with an empty balloon: its blocks may be huge pages again
        for (long block : blockPages.keySet()) {
            mem.adviseHugePages(block << (BLOCK_SHIFT + VIRTIO_BALLOON_PFN_SHIFT), true);
        }
        blockPages.clear();
        ballooned.clear();
        statsHead = -1;
        statsQueue = null;
        poisonVal = 0;
    }
}
