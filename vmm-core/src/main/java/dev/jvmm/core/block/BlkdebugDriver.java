package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * QEMU's blkdebug error injector (block/blkdebug.c, docs/devel/blkdebug.rst) as a filter over another driver.
 * Each request first raises its event (read to read_aio, write to write_aio, flush to flush_to_disk; write-zeroes
 * and discard raise none, as with QEMU's raw format on top). Raising an event that has inject-error rules makes
 * exactly those rules the active ones; they stay active, also for other kinds of request, until another event with
 * rules replaces them. A request fails with the first active rule whose sector (-1 for any) lies in it and whose
 * iotype covers it; a "once" rule is then dropped. Only inject-error rules are supported. Over a qcow2 image
 * the filter stands where QEMU's does, under the format: reads and writes of guest data are checked at their
 * host offsets (see {@link HostIoObserver}).
 */
public final class BlkdebugDriver implements BlockDriver {
    /** QEMU's blkdebug event names this driver raises. */
    public static final String EVENT_READ = "read_aio";
    public static final String EVENT_WRITE = "write_aio";
    public static final String EVENT_FLUSH = "flush_to_disk";
    /** QEMU's BlkdebugIOType names; the default mask covers all but block-status. */
    public static final Set<String> IO_TYPES = Set.of("read", "write", "write-zeroes", "discard", "flush", "block-status");
    public static final Set<String> DEFAULT_IO_TYPES = Set.of("read", "write", "write-zeroes", "discard", "flush");
    /** Every event name QEMU 7.2 knows (BlkdebugEvent); rules on events we never raise are accepted and stay idle. */
    static final Set<String> KNOWN_EVENTS = Set.of("l1_update", "l1_grow_alloc_table", "l1_grow_write_table",
            "l1_grow_activate_table", "l2_load", "l2_update", "l2_update_compressed", "l2_alloc_cow_read",
            "l2_alloc_write", "read_aio", "read_backing_aio", "read_compressed", "write_aio", "write_compressed",
            "vmstate_load", "vmstate_save", "cow_read", "cow_write", "reftable_load", "reftable_grow",
            "reftable_update", "refblock_load", "refblock_update", "refblock_update_part", "refblock_alloc",
            "refblock_alloc_hookup", "refblock_alloc_write", "refblock_alloc_write_blocks",
            "refblock_alloc_write_table", "refblock_alloc_switch_table", "cluster_alloc", "cluster_alloc_bytes",
            "cluster_free", "flush_to_os", "flush_to_disk", "pwritev_rmw_head", "pwritev_rmw_after_head",
            "pwritev_rmw_tail", "pwritev_rmw_after_tail", "pwritev", "pwritev_zero", "pwritev_done",
            "empty_image_prepare", "l1_shrink_write_table", "l1_shrink_free_l2_clusters", "cor_write",
            "cluster_alloc_space", "none");

    /**
     * One inject-error rule, -blockdev's inject-error.N.* keys: event, errno (default 5, EIO), sector (-1 = any;
     * else requests covering that 512-byte sector), once, immediately (accepted; errors are always immediate here),
     * iotype (null for the default set).
     */
    public record Rule(String event, int errno, long sector, boolean once, boolean immediately, Set<String> iotypes) {
        public Rule {
            if (!KNOWN_EVENTS.contains(event)) {
                throw new IllegalArgumentException("invalid parameter value: " + event);
            }
            if (errno <= 0) {
                throw new IllegalArgumentException("errno must be positive: " + errno);
            }
            if (sector < -1) {
                throw new IllegalArgumentException("sector must be -1 or a sector number: " + sector);
            }
            iotypes = iotypes == null ? DEFAULT_IO_TYPES : Set.copyOf(iotypes);
            for (String t : iotypes) {
                if (!IO_TYPES.contains(t)) {
                    throw new IllegalArgumentException("invalid parameter value: " + t);
                }
            }
        }

        public Rule(String event, int errno, long sector, boolean once, boolean immediately) {
            this(event, errno, sector, once, immediately, null);
        }
    }

    private final BlockDriver inner;
    private final String filename;
    /** Rules still in force (a fired "once" rule leaves); guarded by this. */
    private final List<Rule> rules;
    private List<Rule> active = List.of();

    /** filename: what query-block reports, e.g. "blkdebug:conf:image" ({@link #legacyFilename}). */
    public BlkdebugDriver(BlockDriver inner, List<Rule> rules, String filename) {
        this.inner = inner;
        this.rules = new ArrayList<>(rules);
        this.filename = filename;
        if (inner instanceof Qcow2Image q) {
            // QEMU's blkdebug sits under qcow2 (the format's file child): its rules see host offsets of the data
            // the format reads and writes, so sector= names a host sector as qemu-img map shows it.
            hostOffsets = true;
            q.observeDataFile(new HostIoObserver() {
                @Override
                public void hostRead(long offset, long bytes) throws IOException {
                    check(EVENT_READ, "read", offset, bytes);
                }

                @Override
                public void hostWrite(long offset, long bytes) throws IOException {
                    check(EVENT_WRITE, "write", offset, bytes);
                }
            });
        }
    }

    /** Reads and writes are checked by the format below at host offsets, not here at guest offsets. */
    private boolean hostOffsets;

    /** QEMU's filename for the "blkdebug:config:image" form, reported for the blkdebug node and the node above it. */
    public static String legacyFilename(String configFile, String image) {
        return "blkdebug:" + configFile + ":" + image;
    }

    /**
     * Opens a "blkdebug:[config]:image" filename (the -drive file= form): reads the config file and opens image
     * with opts (format probed as {@link BlockDriver#open(Path, ImageOptions)} does).
     */
    public static BlkdebugDriver openLegacy(String spec, ImageOptions opts) throws IOException {
        if (!spec.startsWith("blkdebug:")) {
            throw new BlockException("Invalid filename " + spec);
        }
        String rest = spec.substring("blkdebug:".length());
        int colon = rest.indexOf(':');
        if (colon < 0) {
            throw new BlockException("Invalid filename " + spec);
        }
        String config = rest.substring(0, colon);
        String image = rest.substring(colon + 1);
        List<Rule> rules = config.isEmpty() ? List.of() : readConfig(Path.of(config));
        BlockDriver inner = BlockDriver.open(Path.of(image), opts);
        return new BlkdebugDriver(inner, rules, spec);
    }

    public static List<Rule> readConfig(Path config) throws IOException {
        String text;
        try {
            text = Files.readString(config, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BlockException("Could not read blkdebug config file: No such file or directory", e);
        } catch (IOException e) {
            throw new BlockException("Could not read blkdebug config file: " + e.getMessage(), e);
        }
        return parseConfig(text);
    }

    /**
     * Parses QEMU's config-file syntax: "[inject-error]" sections of {@code key = "value"} lines, '#' comments.
     * set-state and other sections are refused.
     */
    public static List<Rule> parseConfig(String text) throws BlockException {
        List<Rule> out = new ArrayList<>();
        String group = null;
        Map<String, String> keys = null;
        int lineNo = 0;
        for (String raw : text.split("\n", -1)) {
            lineNo++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[")) {
                if (group != null) {
                    out.add(rule(keys));
                }
                if (!line.endsWith("]")) {
                    throw new BlockException("blkdebug config line " + lineNo + ": parse error");
                }
                String name = line.substring(1, line.length() - 1).strip();
                if (name.equals("set-state") || name.equals("suspend")) {
                    throw new BlockException("blkdebug: [" + name + "] rules are not supported");
                }
                if (!name.equals("inject-error")) {
                    throw new BlockException("There is no option group '" + name + "'");
                }
                group = name;
                keys = new LinkedHashMap<>();
                continue;
            }
            int eq = line.indexOf('=');
            if (group == null || eq < 0) {
                throw new BlockException("blkdebug config line " + lineNo + ": parse error");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (value.length() < 2 || !value.startsWith("\"") || !value.endsWith("\"")) {
                throw new BlockException("blkdebug config line " + lineNo + ": parse error (values are quoted)");
            }
            keys.put(key, value.substring(1, value.length() - 1));
        }
        if (group != null) {
            out.add(rule(keys));
        }
        return out;
    }

    /**
     * Rules from -blockdev's flattened keys ("inject-error.0.event" = "read_aio", "inject-error.0.errno" = "28",
     * ...; the same keys as the config file, QAPI BlkdebugInjectErrorOptions). Keys not under inject-error are
     * ignored (they belong to the caller); rules come back in index order.
     */
    public static List<Rule> rulesFromOptions(Map<String, String> flat) throws BlockException {
        java.util.TreeMap<Integer, Map<String, String>> byIndex = new java.util.TreeMap<>();
        for (Map.Entry<String, String> e : flat.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith("inject-error.")) {
                continue;
            }
            String rest = k.substring("inject-error.".length());
            int dot = rest.indexOf('.');
            int index;
            try {
                index = Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot));
            } catch (NumberFormatException ex) {
                throw new BlockException("Parameter 'inject-error' expects a list", ex);
            }
            if (dot < 0 || index < 0) {
                throw new BlockException("Parameter 'inject-error' expects a list");
            }
            byIndex.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(rest.substring(dot + 1), e.getValue());
        }
        List<Rule> out = new ArrayList<>();
        for (Map<String, String> keys : byIndex.values()) {
            out.add(rule(keys));
        }
        return out;
    }

    private static Rule rule(Map<String, String> keys) throws BlockException {
        try {
            String event = null;
            int errno = HostIoException.EIO;
            long sector = -1;
            boolean once = false;
            boolean immediately = false;
            Set<String> iotypes = null;
            for (Map.Entry<String, String> e : keys.entrySet()) {
                String v = e.getValue();
                switch (e.getKey()) {
                    case "event" -> event = v;
                    case "errno" -> errno = Integer.parseInt(v);
                    case "sector" -> sector = Long.parseLong(v);
                    case "once" -> once = bool(v);
                    case "immediately" -> immediately = bool(v);
                    case "iotype" -> iotypes = Set.of(v.split(","));
                    case "state" -> {
                        if (Integer.parseInt(v) != 0) {
                            throw new BlockException("blkdebug: rules bound to a state are not supported");
                        }
                    }
                    default -> throw new BlockException("Invalid parameter '" + e.getKey() + "'");
                }
            }
            if (event == null) {
                throw new BlockException("Missing event name for rule");
            }
            return new Rule(event, errno, sector, once, immediately, iotypes);
        } catch (NumberFormatException e) {
            throw new BlockException("invalid parameter value: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new BlockException(e.getMessage(), e);
        }
    }

    private static boolean bool(String v) throws BlockException {
        return switch (v) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw new BlockException("Parameter expects 'on' or 'off'");
        };
    }

    /** Raises event, then fails the request if an active rule matches; sector -1 means the request has no range. */
    private void check(String event, String iotype, long offset, long bytes) throws HostIoException {
        int errno;
        synchronized (this) {
            if (event != null) {
                List<Rule> fired = rules.stream().filter(r -> r.event().equals(event)).toList();
                if (!fired.isEmpty()) {
                    active = fired;
                }
            }
            Rule hit = null;
            for (Rule r : active) {
                long at = r.sector() * 512;
                if ((r.sector() == -1 || (bytes > 0 && at >= offset && at < offset + bytes))
                        && r.iotypes().contains(iotype)) {
                    hit = r;
                    break;
                }
            }
            if (hit == null) {
                return;
            }
            errno = hit.errno();
            if (hit.once()) {
                Rule gone = hit;
                rules.remove(gone);
                active = active.stream().filter(r -> r != gone).toList();
            }
        }
        throw new HostIoException(errno);
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public int read(long offset, ByteBuffer dst) throws IOException {
        if (!hostOffsets) {
            check(EVENT_READ, "read", offset, dst.remaining());
        }
        return inner.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        if (!hostOffsets) {
            check(EVENT_WRITE, "write", offset, src.remaining());
        }
        inner.write(offset, src);
    }

    @Override
    public void readv(long offset, ByteBuffer[] dsts) throws IOException {
        if (!hostOffsets) {
            check(EVENT_READ, "read", offset, total(dsts));
        }
        inner.readv(offset, dsts);
    }

    @Override
    public void writev(long offset, ByteBuffer[] srcs) throws IOException {
        if (!hostOffsets) {
            check(EVENT_WRITE, "write", offset, total(srcs));
        }
        inner.writev(offset, srcs);
    }

    private static long total(ByteBuffer[] buffers) {
        long n = 0;
        for (ByteBuffer b : buffers) {
            n += b.remaining();
        }
        return n;
    }

    @Override
    public void flush() throws IOException {
        check(EVENT_FLUSH, "flush", 0, 0);
        inner.flush();
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        check(null, "discard", offset, length);
        inner.discard(offset, length);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        check(null, "write-zeroes", offset, length);
        inner.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public void truncate(long newSize) throws IOException {
        inner.truncate(newSize);
    }

    @Override
    public String format() {
        return "blkdebug";
    }

    @Override
    public String filename() {
        return filename;
    }

    /** The wrapped driver (QEMU's "image" child). */
    public BlockDriver image() {
        return inner;
    }

    @Override
    public long allocatedSize() {
        return inner.allocatedSize();
    }

    @Override
    public boolean readOnly() {
        return inner.readOnly();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
