package dev.jvmm.core.block;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.MachineCommandException;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * The machine's block graph: nodes from -drive and -blockdev, the drives (backends) by name, which device
 * took which drive, and the answers to query-block, query-blockstats, query-named-block-nodes and
 * block_resize. Build it single-threaded at machine assembly (-drive before -device); queries run on the
 * main loop.
 */
public final class BlockGraph implements AutoCloseable {
    private final EventBus events;
    private final Executor mainLoop;
    private final Runnable ioErrorStop;
    private final BlockImageFactory factory;
    private final Random random = new Random();
    private long autoNameCounter;

    /** Nodes in creation order (QEMU's graph_bdrv_states). */
    private final List<BlockNode> nodes = new ArrayList<>();
    private final Map<String, BlockNode> nodesByName = new HashMap<>();
    /** Drives in creation order (QEMU's block backend list): -drive ones, then those devices made. */
    private final List<Drive> drives = new ArrayList<>();
    private final Map<String, DriveEntry> named = new LinkedHashMap<>();
    private final Map<Drive, DriveEntry> entries = new HashMap<>();
    private final Set<String> usedVirtioIndex = new HashSet<>();
    private final Map<String, Integer> nextIndex = new HashMap<>();
    /** Nodes a device uses directly, by node-name, with the device's QOM path. */
    private final Map<String, String> nodeUsers = new HashMap<>();

    /** A -drive's extras the graph keeps: its interface and whether a device took it. */
    private static final class DriveEntry {
        final Drive drive;
        final String iface;
        final String option;
        String qdev;

        DriveEntry(Drive drive, String iface, String option) {
            this.drive = drive;
            this.iface = iface;
            this.option = option;
        }
    }

    /**
     * @param events      the machine's bus (BLOCK_IO_ERROR)
     * @param mainLoop    the machine's main loop (retry handlers run there)
     * @param ioErrorStop LifecycleController::requestIoErrorStop
     * @param factory     how images are opened ({@link BlockImageFactory#DEFAULT})
     */
    public BlockGraph(EventBus events, Executor mainLoop, Runnable ioErrorStop, BlockImageFactory factory) {
        this.events = events;
        this.mainLoop = mainLoop;
        this.ioErrorStop = ioErrorStop;
        this.factory = factory;
    }

    // ---- building ----

    /** QEMU's automatic node name (id_generate): "#block", a counter from 0, two random digits. */
    private String autoName() {
        return String.format("#block%d%02d", autoNameCounter++, random.nextInt(100));
    }

    private void addNode(BlockNode n, String option) {
        if (nodesByName.containsKey(n.nodeName())) {
            throw new OptionException(option, "Duplicate nodes with node-name='" + n.nodeName() + "'");
        }
        if (named.containsKey(n.nodeName())) {
            throw new OptionException(option, "node-name=" + n.nodeName() + " is conflicting with a device id");
        }
        nodes.add(n);
        nodesByName.put(n.nodeName(), n);
    }

    /** Adds a -drive (its text after "-drive "). */
    public Drive addDrive(String text) {
        return addDrive(DriveOptions.parse(text));
    }

    public Drive addDrive(DriveOptions o) {
        String option = o.option();
        int index = o.index();
        String iface = o.iface();
        if (index >= 0) {
            if (!usedVirtioIndex.add(iface + ":" + index)) {
                throw new OptionException(option,
                        "drive with bus=0, unit=" + index + " (index=" + index + ") exists");
            }
        } else {
            int i = nextIndex.getOrDefault(iface, 0);
            while (usedVirtioIndex.contains(iface + ":" + i)) {
                i++;
            }
            index = i;
            usedVirtioIndex.add(iface + ":" + index);
        }
        nextIndex.put(iface, index + 1);
        String id = o.id() != null ? o.id() : iface + (o.media().equals("cdrom") ? "-cd" : "") + index;
        if (named.containsKey(id)) {
            throw new OptionException(option, "Duplicate ID '" + id + "' for drive");
        }
        if (nodesByName.containsKey(id)) {
            throw new OptionException(option, "Device name '" + id + "' conflicts with an existing node name");
        }
        BlockNode root = null;
        if (o.file() != null && !o.file().isEmpty()) {
            // Nodes always show writeback on; writethrough is the drive's (BlockBackend's) setting in QEMU.
            DriveCache cache = new DriveCache(true, o.cache().direct(), o.cache().noFlush() || o.snapshot());
            int before = nodes.size();
            try {
                root = openChain(option, o.file(), o.format(), o.nodeName(), o.readOnly(), cache, o.locking(),
                        o.discardUnmap(), o.snapshot());
            } catch (OptionException e) {
                unwind(before);
                throw e;
            }
            if (!o.formatOptions().isEmpty()) {
                // QEMU names the (possibly probed) format driver that was handed the unknown key (-drive serial=
                // included: 7.2 no longer takes it there, it belongs to -device).
                String fmt = root.driverName();
                unwind(before);
                throw new OptionException(option, "Block format '" + fmt + "' does not support the option '"
                        + o.formatOptions().keySet().iterator().next() + "'");
            }
        }
        Drive d = new Drive(id, root, o.cache(), o.werror(), o.rerror(), o.discardUnmap(), events, mainLoop,
                ioErrorStop);
        DriveEntry e = new DriveEntry(d, iface, option);
        named.put(id, e);
        entries.put(d, e);
        drives.add(d);
        return d;
    }

    /** Forgets and closes the nodes a failed option added. */
    private void unwind(int keep) {
        while (nodes.size() > keep) {
            BlockNode n = nodes.remove(nodes.size() - 1);
            nodesByName.remove(n.nodeName());
            if (n.driver() != null && (n.backing() == null || n.driver().backing() == null)) {
                try {
                    n.driver().close();
                } catch (IOException e) {
                    // the option error is what the user needs to see
                }
            }
        }
    }

    /** Opens an image file with its backing chain: nodes file, format, then the backing's file, format. */
    private BlockNode openChain(String option, String filename, String format, String nodeName, boolean ro,
            DriveCache cache, String locking, boolean unmap, boolean snapshot) {
        BlockImageFactory.Blkdebug blkdebug = null;
        String path = filename;
        if (filename.startsWith("blkdebug:")) {
            // blkdebug:CONFIG:IMAGE, QEMU's legacy filename syntax
            String rest = filename.substring("blkdebug:".length());
            int colon = rest.indexOf(':');
            if (colon < 0) {
                throw new OptionException(option, "Could not open '" + filename + "': Invalid argument");
            }
            blkdebug = new BlockImageFactory.Blkdebug(rest.substring(0, colon), List.of());
            path = rest.substring(colon + 1);
        }
        BlockDriver driver = open(option, new BlockImageFactory.Request(format, Path.of(path), ro, cache, locking,
                unmap, snapshot, blkdebug), filename);
        return nodesFor(option, driver, filename, path, format, nodeName, ro, cache, blkdebug != null);
    }

    private BlockNode nodesFor(String option, BlockDriver driver, String filename, String path, String format,
            String nodeName, boolean ro, DriveCache cache, boolean blkdebug) {
        // QEMU names a blkdebug filter before the file under it (its counter digit is lower).
        String blkdebugName = blkdebug ? autoName() : null;
        BlockNode fileNode = new BlockNode(autoName(), "file", path, ro, cache, null, null, null);
        BlockNode under = fileNode;
        if (blkdebug) {
            under = new BlockNode(blkdebugName, "blkdebug", filename, ro, cache, null, fileNode, null);
            addNode(under, option);
        }
        addNode(fileNode, option);
        String fmt = format != null ? format : formatOf(driver);
        BlockNode backing = null;
        String name = nodeName != null ? nodeName : autoName();
        BlockNode top = new BlockNode(name, fmt, filename, ro, cache, driver, under, null);
        addNodeOrClose(top, option);
        BlockDriver b = driver.backing();
        if (b != null) {
            String bf = b.filename();
            backing = nodesFor(option, b, bf, bf, formatOf(b), null, true, cache, false);
            // Rebuild the top node now that its backing exists; it keeps its place and name.
            BlockNode withBacking = new BlockNode(name, fmt, filename, ro, cache, driver, under, backing);
            nodes.set(nodes.indexOf(top), withBacking);
            nodesByName.put(name, withBacking);
            top = withBacking;
        }
        return top;
    }

    private static String formatOf(BlockDriver d) {
        return d instanceof Qcow2Image ? "qcow2" : d.format();
    }

    private BlockDriver open(String option, BlockImageFactory.Request r, String shownName) {
        try {
            return factory.open(r);
        } catch (NoSuchFileException e) {
            throw new OptionException(option, "Could not open '" + shownName + "': No such file or directory");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new OptionException(option, "Could not open '" + shownName + "': Permission denied");
        } catch (ImageLockException e) {
            // QEMU prints the lock error as it is, its hint on the next line.
            throw new OptionException(option, e.getMessage() + "\n" + e.hint());
        } catch (IOException e) {
            String m = e.getMessage();
            // The drivers already say "Could not open 'FILE': why" where they know the file.
            throw new OptionException(option, m != null && m.startsWith("Could not open '") ? m
                    : "Could not open '" + shownName + "': " + m);
        }
    }

    /** Adds a -blockdev (its text after "-blockdev "), JSON or key=value. */
    public BlockNode addBlockdev(String text) {
        return addBlockdev(BlockdevOptions.parse(text));
    }

    public BlockNode addBlockdev(BlockdevOptions o) {
        return buildNode(o, o.tree(), "", true);
    }

    private static final Set<String> COMMON = Set.of("driver", "node-name", "read-only", "auto-read-only",
            "force-share", "cache", "discard", "detect-zeroes");

    private static final Map<String, Set<String>> DRIVER_KEYS = Map.of(
            "file", Set.of("filename", "locking", "aio", "aio-max-batch", "drop-cache", "x-check-cache-dropped",
                    "pr-manager"),
            "raw", Set.of("file", "offset", "size"),
            "qcow2", Set.of("file", "backing", "lazy-refcounts", "pass-discard-request", "pass-discard-snapshot",
                    "pass-discard-other", "overlap-check", "cache-size", "l2-cache-size", "l2-cache-entry-size",
                    "refcount-cache-size", "cache-clean-interval", "data-file", "discard-no-unref"),
            "blkdebug", Set.of("image", "config", "align", "max-transfer", "opt-write-zero", "max-write-zero",
                    "opt-discard", "max-discard", "inject-error", "set-state", "take-child-perms",
                    "unshare-child-perms"));

    private BlockNode buildNode(BlockdevOptions o, Map<String, Object> t, String prefix, boolean root) {
        String option = o.option();
        String driver = str(o, t, prefix, "driver", true);
        if (!DRIVER_KEYS.containsKey(driver)) {
            throw new OptionException(option, "Parameter '" + prefix + "driver' does not accept value '"
                    + driver + "'");
        }
        for (String k : t.keySet()) {
            if (!COMMON.contains(k) && !DRIVER_KEYS.get(driver).contains(k)) {
                throw new OptionException(option, "Parameter '" + prefix + k + "' is unexpected");
            }
        }
        String nodeName = str(o, t, prefix, "node-name", false);
        if (nodeName == null && root) {
            throw new OptionException(option, "'node-name' must be specified for the root node");
        }
        if (nodeName != null && !DriveOptions.wellFormedNodeName(nodeName)) {
            throw new OptionException(option, "Invalid node-name: '" + nodeName + "'");
        }
        boolean ro = bool(o, t, prefix, "read-only", false);
        DriveCache cache = DriveCache.WRITEBACK;
        if (t.get("cache") instanceof Map<?, ?> c) {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = (Map<String, Object>) c;
            for (String k : cm.keySet()) {
                if (!k.equals("direct") && !k.equals("no-flush")) {
                    throw new OptionException(option, "Parameter '" + prefix + "cache." + k + "' is unexpected");
                }
            }
            cache = new DriveCache(true, bool(o, cm, prefix + "cache.", "direct", false),
                    bool(o, cm, prefix + "cache.", "no-flush", false));
        }
        String discard = str(o, t, prefix, "discard", false);
        boolean unmap = "unmap".equals(discard) || "on".equals(discard);
        BlockNode node;
        switch (driver) {
            case "file" -> {
                String filename = str(o, t, prefix, "filename", true);
                String locking = str(o, t, prefix, "locking", false);
                node = new BlockNode(nodeName != null ? nodeName : autoName(), "file", filename, ro, cache, null,
                        null, null);
                fileOptions.put(node, new FileOpts(locking == null ? "auto" : locking, unmap));
            }
            case "blkdebug" -> {
                BlockNode image = child(o, t, prefix, "image", true);
                String config = str(o, t, prefix, "config", false);
                List<Map<String, String>> rules = new ArrayList<>();
                if (t.get("inject-error") instanceof List<?> l) {
                    for (Object r : l) {
                        if (r instanceof Map<?, ?> rm) {
                            Map<String, String> rule = new LinkedHashMap<>();
                            rm.forEach((k, v) -> rule.put(String.valueOf(k), String.valueOf(v)));
                            rules.add(rule);
                        }
                    }
                }
                node = new BlockNode(nodeName != null ? nodeName : autoName(), "blkdebug", image.filename(), ro,
                        cache, null, image, null);
                blkdebugOptions.put(node, new BlockImageFactory.Blkdebug(config, rules));
            }
            default -> {
                BlockNode file = child(o, t, prefix, "file", true);
                Object backingOpt = t.get("backing");
                BlockNode backing = null;
                if (backingOpt != null && backingOpt != BlockdevOptions.NULL) {
                    backing = child(o, t, prefix, "backing", true);
                }
                BlockNode proto = file;
                BlockImageFactory.Blkdebug bd = null;
                if ("blkdebug".equals(file.driverName())) {
                    bd = blkdebugOptions.get(file);
                    proto = file.file();
                }
                FileOpts fo = fileOptions.getOrDefault(proto, new FileOpts("auto", unmap));
                // TODO(integrator): an explicit backing node (backing=NODE) should be handed to the qcow2
                // driver instead of the header's backing file; the image's own chain is opened for now.
                BlockDriver d = open(option, new BlockImageFactory.Request(driver, Path.of(proto.filename()),
                        ro, cache, fo.locking, unmap || fo.unmap, false, bd), proto.filename());
                String name = nodeName != null ? nodeName : autoName();
                if (backing == null && d.backing() != null && backingOpt != BlockdevOptions.NULL) {
                    BlockDriver b = d.backing();
                    backing = nodesFor(option, b, b.filename(), b.filename(), formatOf(b), null, true, cache, false);
                }
                node = new BlockNode(name, driver, file.filename(), ro, cache, d, file, backing);
            }
        }
        addNodeOrClose(node, option);
        return node;
    }

    /** Adds a node whose image is open; a refused node closes its image so no file stays open or locked. */
    private void addNodeOrClose(BlockNode n, String option) {
        try {
            addNode(n, option);
        } catch (OptionException e) {
            if (n.driver() != null) {
                try {
                    n.driver().close();
                } catch (IOException x) {
                    // the option error is what the user needs to see
                }
            }
            throw e;
        }
    }

    private record FileOpts(String locking, boolean unmap) {
    }

    private final Map<BlockNode, FileOpts> fileOptions = new HashMap<>();
    private final Map<BlockNode, BlockImageFactory.Blkdebug> blkdebugOptions = new HashMap<>();

    /** A child given by reference (a node-name string) or inline (an object). */
    private BlockNode child(BlockdevOptions o, Map<String, Object> t, String prefix, String key, boolean required) {
        Object v = t.get(key);
        if (v == null) {
            throw new OptionException(o.option(), "Parameter '" + prefix + key + "' is missing");
        }
        if (v instanceof String ref) {
            BlockNode n = nodesByName.get(ref);
            if (n == null) {
                // A -drive id is not a node reference (QEMU 7.2 refuses it the same way).
                throw new OptionException(o.option(), "Cannot find device='" + ref + "' nor node-name='" + ref + "'");
            }
            return n;
        }
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = (Map<String, Object>) m;
            return buildNode(o, cm, prefix + key + ".", false);
        }
        throw new OptionException(o.option(), "Invalid parameter type for '" + prefix + key
                + "', expected: BlockdevRef");
    }

    private static String str(BlockdevOptions o, Map<String, Object> t, String prefix, String key, boolean required) {
        Object v = t.get(key);
        if (v == null) {
            if (required) {
                throw new OptionException(o.option(), "Parameter '" + prefix + key + "' is missing");
            }
            return null;
        }
        if (!(v instanceof String s)) {
            throw new OptionException(o.option(), "Invalid parameter type for '" + prefix + key
                    + "', expected: string");
        }
        return s;
    }

    private static boolean bool(BlockdevOptions o, Map<String, Object> t, String prefix, String key, boolean def) {
        Object v = t.get(key);
        if (v == null) {
            return def;
        }
        if (o.typed()) {
            if (v instanceof Boolean b) {
                return b;
            }
            throw new OptionException(o.option(), "Invalid parameter type for '" + prefix + key
                    + "', expected: boolean");
        }
        return switch (String.valueOf(v)) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(o.option(), "Parameter '" + prefix + key
                    + "' expects 'on' or 'off'");
        };
    }

    // ---- devices ----

    /**
     * A device (-device virtio-blk-pci,drive=X) takes drive X: a -drive id or a -blockdev node-name (a new
     * anonymous drive is made over the node, with werror=enospc... as QEMU's device defaults, report/enospc).
     *
     * @param drive        the drive= value
     * @param qdevPath     the device's QOM path + "/virtio-backend" as query-block shows it
     * @param propertyName for the unknown-drive message, e.g. "virtio-blk-device.drive"
     * @throws OptionException (option null) with QEMU's message; the caller prefixes its -device text
     */
    public Drive attach(String drive, String qdevPath, String propertyName) {
        DriveEntry e = named.get(drive);
        if (e != null) {
            if (e.qdev != null) {
                throw inUse(e, null);
            }
            if (e.drive.root() == null) {
                throw new OptionException(null, "Device needs media, but drive is empty");
            }
            e.qdev = qdevPath;
            e.drive.attached(qdevPath);
            return e.drive;
        }
        BlockNode n = nodesByName.get(drive);
        if (n == null) {
            throw new OptionException(null, "Property '" + propertyName + "' can't find value '" + drive + "'");
        }
        String other = nodeUsers.get(drive);
        if (other != null && !n.readOnly()) {
            throw new OptionException(null, "Permission conflict on node '" + drive + "': permissions 'write' are"
                    + " both required by block device '" + other + "' (uses node '" + drive + "' as 'root' child)"
                    + " and unshared by block device '" + qdevPath + "' (uses node '" + drive + "' as 'root'"
                    + " child).");
        }
        if (n.driver() == null) {
            FileOpts fo = fileOptions.getOrDefault(n, new FileOpts("auto", false));
            n.setDriver(open(null, new BlockImageFactory.Request("raw", Path.of(n.filename()), n.readOnly(),
                    n.cache(), fo.locking, fo.unmap, false, blkdebugOptions.get(n)), n.filename()));
        }
        nodeUsers.put(drive, qdevPath);
        Drive d = new Drive("", n, n.cache(), BlockErrorPolicy.DEFAULT_WERROR, BlockErrorPolicy.DEFAULT_RERROR,
                fileOptions.containsKey(n) && fileOptions.get(n).unmap, events, mainLoop, ioErrorStop);
        DriveEntry anon = new DriveEntry(d, "none", null);
        anon.qdev = qdevPath;
        entries.put(d, anon);
        drives.add(d);
        d.attached(qdevPath);
        return d;
    }

    /** QEMU's set_drive_helper wording: a drive with an if= other than none was meant for its own device. */
    private static OptionException inUse(DriveEntry e, String option) {
        if (!e.iface.equals("none")) {
            return new OptionException(option, "Drive '" + e.drive.name() + "' is already in use because it has"
                    + " been automatically connected to another device (did you need 'if=none' in the drive"
                    + " options?)");
        }
        return new OptionException(option, "Drive '" + e.drive.name() + "' is already in use by another device");
    }

    /**
     * The if=virtio drives, for the machine to make one virtio-blk-pci each (QEMU's default devices, created
     * after the -device options, so they are numbered after the user's anonymous devices); call
     * {@link #attachAuto} with each device's path.
     */
    public List<Drive> drivesWithInterface(String iface) {
        List<Drive> out = new ArrayList<>();
        for (DriveEntry e : named.values()) {
            if (e.iface.equals(iface)) {
                out.add(e.drive);
            }
        }
        return out;
    }

    /**
     * Connects an if=virtio drive to the device the machine made for it. When a -device already took the
     * drive, QEMU 7.2 fails here, naming the -drive option (the OptionException carries it).
     */
    public void attachAuto(Drive d, String qdevPath) {
        DriveEntry e = entries.get(d);
        if (e.qdev != null) {
            throw inUse(e, e.option);
        }
        e.qdev = qdevPath;
        d.attached(qdevPath);
    }

    /** A drive by -drive id, or null. */
    public Drive drive(String id) {
        DriveEntry e = named.get(id);
        return e == null ? null : e.drive;
    }

    public List<Drive> drives() {
        return Collections.unmodifiableList(drives);
    }

    public BlockNode node(String nodeName) {
        return nodesByName.get(nodeName);
    }

    public List<BlockNode> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /**
     * Flushes every writable image (QEMU flushes all drives when it exits and on stop); returns the first
     * error after trying them all.
     */
    public IOException flushAll() {
        IOException first = null;
        for (BlockDriver d : openDrivers()) {
            if (!d.readOnly()) {
                try {
                    d.flush();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
        }
        return first;
    }

    /** Flushes and closes every image; the graph is unusable afterwards. */
    @Override
    public void close() {
        flushAll();
        for (Drive d : drives) {
            d.close();
        }
        for (BlockDriver d : openDrivers()) {
            try {
                d.close();
            } catch (IOException e) {
                // closing the rest matters more than one image's close error
            }
        }
    }

    /** Each open image once (a backing image belongs to its overlay's driver and is closed by it). */
    private List<BlockDriver> openDrivers() {
        List<BlockDriver> out = new ArrayList<>();
        Set<BlockDriver> backings = new HashSet<>();
        for (BlockNode n : nodes) {
            if (n.driver() != null && n.driver().backing() != null) {
                backings.add(n.driver().backing());
            }
        }
        for (BlockNode n : nodes) {
            BlockDriver d = n.driver();
            if (d != null && !backings.contains(d) && !out.contains(d)) {
                out.add(d);
            }
        }
        return out;
    }

    // ---- QMP ----

    /** query-block. */
    public List<BlockInfo> queryBlock() {
        List<BlockInfo> out = new ArrayList<>();
        for (Drive d : drives) {
            boolean attached = d.qdev() != null;
            out.add(new BlockInfo(d.name(), d.qdev(), !attached, false,
                    d.ioStatusShown() ? d.ioStatus() : null,
                    d.root() == null ? null : deviceInfo(d.root(), false, d.cache())));
        }
        return out;
    }

    /** query-named-block-nodes: every node, newest first as QEMU lists them. */
    public List<BlockDeviceInfo> queryNamedBlockNodes(boolean flat) {
        List<BlockDeviceInfo> out = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            BlockNode n = nodes.get(i);
            out.add(deviceInfo(n, flat, cacheShown(n)));
        }
        return out;
    }

    /** A node's cache as shown: its drive's (the guest may have turned writeback off) when it is a root. */
    private DriveCache cacheShown(BlockNode n) {
        return n.cache();
    }

    /** query-blockstats. */
    public List<BlockStatsInfo> queryBlockstats(boolean queryNodes) {
        List<BlockStatsInfo> out = new ArrayList<>();
        if (queryNodes) {
            for (BlockNode n : nodes) {
                out.add(nodeStats(n, false));
            }
            return out;
        }
        for (Drive d : drives) {
            BlockNode r = d.root();
            BlockDeviceStats s = d.stats().snapshot();
            if (r != null) {
                s = withHighest(s, r.wrHighestOffset());
            }
            out.add(new BlockStatsInfo(d.name(), d.qdev(), r == null ? null : r.nodeName(), s,
                    r == null || r.file() == null ? null : nodeStats(r.file(), true),
                    r == null || r.backing() == null ? null : nodeStats(r.backing(), true), null));
        }
        return out;
    }

    private static BlockDeviceStats withHighest(BlockDeviceStats s, long high) {
        return new BlockDeviceStats(s.rdBytes(), s.wrBytes(), s.unmapBytes(), s.rdOperations(), s.wrOperations(),
                s.flushOperations(), s.unmapOperations(), s.rdTotalTimeNs(), s.wrTotalTimeNs(),
                s.flushTotalTimeNs(), s.unmapTotalTimeNs(), high, s.rdMerged(), s.wrMerged(), s.unmapMerged(),
                s.idleTimeNs(), s.failedRdOperations(), s.failedWrOperations(), s.failedFlushOperations(),
                s.failedUnmapOperations(), s.invalidRdOperations(), s.invalidWrOperations(),
                s.invalidFlushOperations(), s.invalidUnmapOperations(), s.accountInvalid(), s.accountFailed());
    }

    /** A node's wr_highest_offset; a qcow2 node's file child counts every write qcow2 made to the file. */
    private long wrHighestOffset(BlockNode n) {
        long h = n.wrHighestOffset();
        for (BlockNode p : nodes) {
            if (p.file() == n && p.driver() instanceof Qcow2Image q) {
                h = Math.max(h, q.fileWrHighestOffset());
            }
        }
        return h;
    }

    private BlockStatsInfo nodeStats(BlockNode n, boolean blkLevel) {
        return new BlockStatsInfo(null, null, n.nodeName(), BlockDeviceStats.zero(wrHighestOffset(n)),
                n.file() == null ? null : nodeStats(n.file(), blkLevel),
                blkLevel ? backingStats(n) : null,
                n.isProtocol() ? new BlockStatsInfo.FileDriverStats(0, 0, 0) : null);
    }

    /**
     * "backing" at the drive level: the backing node, and for a blkdebug filter its file child again
     * (QEMU 7.2 lists the filtered node there too; tests/reference/block/ioerr-*.txt).
     */
    private BlockStatsInfo backingStats(BlockNode n) {
        if (n.backing() != null) {
            return nodeStats(n.backing(), true);
        }
        if ("blkdebug".equals(n.driverName()) && n.file() != null) {
            return nodeStats(n.file(), true);
        }
        return null;
    }

    private BlockDeviceInfo deviceInfo(BlockNode n, boolean flat, DriveCache cache) {
        return new BlockDeviceInfo(n.filename(), n.nodeName(), n.readOnly(), n.driverName(),
                n.backing() == null ? null : n.backing().filename(), n.backingDepth(), false, "off", cache, 0,
                imageInfo(n, flat));
    }

    private BlockImageInfo imageInfo(BlockNode n, boolean flat) {
        BlockDriver d = n.driver();
        long cluster = -1;
        BlockImageInfo.Qcow2Info q = null;
        if (d instanceof Qcow2Image qi && !n.isProtocol()) {
            cluster = qi.clusterSize();
            // TODO: refcount bits, lazy refcounts and the corrupt bit from the header once Qcow2Image exposes them.
            q = qi.version() >= 3 ? new BlockImageInfo.Qcow2Info("1.1", "zlib", false, 16, false, false)
                    : new BlockImageInfo.Qcow2Info("0.10", "zlib", false, 16, false, false);
        }
        BlockNode b = n.backing();
        return new BlockImageInfo(n.filename(), n.isProtocol() ? "file" : n.driverName(), n.virtualSize(),
                n.actualSize(), cluster, false, b == null ? null : b.filename(), b == null ? null : b.filename(),
                b == null ? null : b.driverName(), b == null || flat ? null : imageInfo(b, false), q);
    }

    /**
     * block_resize: device (a -drive id) wins over node-name, as QEMU's bdrv_lookup_bs; messages and
     * classes as QEMU 7.2 (all GenericError).
     */
    public void blockResize(String device, String nodeName, long size) throws MachineCommandException {
        BlockNode n = null;
        Drive byName = device == null ? null : drive(device);
        if (byName != null) {
            n = byName.root();
            if (n == null) {
                throw MachineCommandException.generic("Device '" + device + "' has no medium");
            }
        } else if (nodeName != null) {
            n = nodesByName.get(nodeName);
        }
        if (n == null) {
            throw MachineCommandException.generic("Cannot find device='" + (device == null ? "" : device)
                    + "' nor node-name='" + (nodeName == null ? "" : nodeName) + "'");
        }
        if (size < 0) {
            throw MachineCommandException.generic("Parameter 'size' expects a >0 size");
        }
        if (n.readOnly()) {
            throw MachineCommandException.generic("Image is read-only");
        }
        // A file node under a raw node resizes through the raw driver (raw maps bytes one to one).
        BlockNode target = n;
        if (n.driver() == null) {
            for (BlockNode p : nodes) {
                if (p.file() == n && "raw".equals(p.driverName()) && p.driver() != null) {
                    target = p;
                    break;
                }
            }
        }
        if (target.driver() == null) {
            throw MachineCommandException.generic("Image format driver does not support resize");
        }
        if ("qcow2".equals(target.driverName()) && size % 512 != 0) {
            throw MachineCommandException.generic("The new size must be a multiple of 512");
        }
        try {
            for (Drive d : drives) {
                if (d.root() == target) {
                    d.resize(size);
                    return;
                }
            }
            target.driver().truncate(size);
        } catch (IOException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }
}
