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
import java.util.function.Predicate;

/**
 * The machine's block graph: nodes from -drive and -blockdev, the drives (backends) by name, which device
 * took which drive, and the answers to query-block, query-blockstats, query-named-block-nodes and
 * block_resize; removable media (eject, blockdev-open-tray/-close-tray/-remove-medium/-insert-medium/
 * -change-medium) and blockdev-add/-del. Build it single-threaded at machine assembly (-drive before
 * -device); queries and medium commands run on the main loop.
 */
public final class BlockGraph implements BlockControl, AutoCloseable {
    private final EventBus events;
    private final Executor mainLoop;
    private final Runnable ioErrorStop;
    private final BlockImageFactory factory;
    /** Where /dev/fdset/N filenames are opened; without it they are ordinary (missing) paths. */
    private volatile dev.jvmm.core.fd.FdSets fdSets;
    /** The fd-set duplicate each image opened from /dev/fdset/N holds in use until it closes. */
    private final Map<BlockDriver, Integer> fdSetDups = java.util.Collections.synchronizedMap(
            new java.util.IdentityHashMap<>());
    private final Random random = new Random();
    private long autoNameCounter;

    /** Nodes in creation order (QEMU's graph_bdrv_states). */
    private final List<BlockNode> nodes = new ArrayList<>();
    private final Map<String, BlockNode> nodesByName = new HashMap<>();
    /** Drives in creation order (QEMU's block backend list): -drive ones, then those devices made. */
    private final List<Drive> drives = new ArrayList<>();
    private final Map<String, DriveEntry> named = new LinkedHashMap<>();
    private final Map<Drive, DriveEntry> entries = new HashMap<>();
    /** Occupied "if:bus:unit" slots (QEMU's drive_get). */
    private final Set<String> usedSlots = new HashSet<>();
    /** Nodes the monitor owns (-blockdev, blockdev-add): a removed medium stays, blockdev-del closes it. */
    private final Set<BlockNode> monitorOwned = new HashSet<>();
    /** Whether a QOM path names a device of the machine (for id= of a device without a drive). */
    private volatile Predicate<String> deviceExists = p -> false;
    /** Nodes a device uses directly, by node-name, with the device's QOM path. */
    private final Map<String, String> nodeUsers = new HashMap<>();

    /** A -drive's extras the graph keeps: its interface, place and whether a device took it. */
    private static final class DriveEntry {
        final Drive drive;
        final String iface;
        final String option;
        final int bus;
        final int unit;
        final String media;
        String qdev;

        DriveEntry(Drive drive, String iface, String option) {
            this(drive, iface, option, 0, 0, "disk");
        }

        DriveEntry(Drive drive, String iface, String option, int bus, int unit, String media) {
            this.drive = drive;
            this.iface = iface;
            this.option = option;
            this.bus = bus;
            this.unit = unit;
            this.media = media;
        }
    }

    /**
     * Where a -drive sits: its interface, bus and unit (if=ide: bus 0 primary, 1 secondary; unit 0 master,
     * 1 slave) and media ("disk" or "cdrom"), for the machine to make its default device.
     */
    public record DriveLocation(String iface, int bus, int unit, String media) {
        public boolean cdrom() {
            return media.equals("cdrom");
        }
    }

    /** QEMU's if_max_devs on the pc machine: units per bus (0: one bus, any number of units). */
    static int unitsPerBus(String iface) {
        return switch (iface) {
            case "ide" -> 2;
            case "scsi" -> 7;
            default -> 0;
        };
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

    /** Opens /dev/fdset/N filenames through the machine's fd sets, as QEMU's qemu_open does. */
    public void useFdSets(dev.jvmm.core.fd.FdSets sets) {
        this.fdSets = sets;
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
        String iface = o.iface();
        // QEMU's drive_new: index N is bus N/max, unit N%max; without one the first free unit from bus=.
        int max = unitsPerBus(iface);
        int bus;
        int unit;
        if (o.index() >= 0) {
            bus = max == 0 ? 0 : o.index() / max;
            unit = max == 0 ? o.index() : o.index() % max;
        } else {
            bus = Math.max(o.bus(), 0);
            unit = o.unit();
            if (unit < 0) {
                unit = 0;
                while (usedSlots.contains(iface + ":" + bus + ":" + unit)) {
                    unit++;
                    if (max != 0 && unit >= max) {
                        unit -= max;
                        bus++;
                    }
                }
            }
        }
        if (max != 0 && unit >= max) {
            throw new OptionException(option, "unit " + unit + " too big (max is " + (max - 1) + ")");
        }
        int index = max == 0 ? unit : bus * max + unit;
        if (usedSlots.contains(iface + ":" + bus + ":" + unit)) {
            throw new OptionException(option,
                    "drive with bus=" + bus + ", unit=" + unit + " (index=" + index + ") exists");
        }
        String id = o.id();
        if (id == null) {
            // ide and scsi names say where the drive sits and what it is (ide1-cd0); others only count.
            id = max != 0 ? iface + bus + (o.media().equals("cdrom") ? "-cd" : "-hd") + unit : iface + unit;
        }
        if (named.containsKey(id)) {
            throw new OptionException(option, "Duplicate ID '" + id + "' for drive");
        }
        if (nodesByName.containsKey(id)) {
            throw new OptionException(option, "Device name '" + id + "' conflicts with an existing node name");
        }
        BlockNode root = null;
        if (o.file() != null && !o.file().isEmpty()) {
            String aioProblem = AioEngine.unavailableReason(o.aio());
            if (aioProblem != null) {
                throw new OptionException(option, "Unable to use io_uring: " + aioProblem);
            }
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
        d.setRootStateReadOnly(o.readOnly());
        d.setAio(o.aio());
        usedSlots.add(iface + ":" + bus + ":" + unit);
        DriveEntry e = new DriveEntry(d, iface, option, bus, unit, o.media());
        named.put(id, e);
        entries.put(d, e);
        drives.add(d);
        return d;
    }

    /**
     * A file node's image is opened by whoever uses the node (the format driver above it), but QEMU opens the
     * file when the node is made, so a missing or forbidden file fails -blockdev / blockdev-add at once.
     */
    private void checkFileOpens(String option, String filename, boolean readOnly) {
        dev.jvmm.core.fd.FdSets sets = fdSets;
        if (sets != null && dev.jvmm.core.fd.FdSets.isFdSetPath(filename)) {
            sets.release(openFdSet(option, sets, filename, readOnly, null));
            return;
        }
        Path p = Path.of(filename);
        try (java.nio.channels.FileChannel ch = readOnly
                ? java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)
                : java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ,
                        java.nio.file.StandardOpenOption.WRITE)) {
            // opened and closed: the node may be made
        } catch (NoSuchFileException e) {
            throw new OptionException(option, "Could not open '" + filename + "': No such file or directory");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new OptionException(option, "Could not open '" + filename + "': Permission denied");
        } catch (IOException e) {
            throw new OptionException(option, "Could not open '" + filename + "': " + e.getMessage());
        }
    }

    /** Forgets and closes the nodes a failed option added. */
    private void unwind(int keep) {
        while (nodes.size() > keep) {
            BlockNode n = nodes.remove(nodes.size() - 1);
            nodesByName.remove(n.nodeName());
            fileOptions.remove(n);
            blkdebugOptions.remove(n);
            if (n.driver() != null && (n.backing() == null || n.driver().backing() == null)) {
                try {
                    closeDriver(n.driver());
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
        dev.jvmm.core.fd.FdSets sets = fdSets;
        if (sets != null && dev.jvmm.core.fd.FdSets.isFdSetPath(r.path().toString())) {
            int dup = openFdSet(option, sets, r.path().toString(), r.readOnly(), r.cache());
            try {
                // The image reopens the duplicate through /proc, which gives it descriptors of its own; the
                // duplicate stays in use, as QEMU's does, until the image closes.
                BlockDriver d = openImage(option, new BlockImageFactory.Request(r.format(),
                        Path.of("/proc/self/fd/" + dup), r.readOnly(), r.cache(), r.locking(), r.discardUnmap(),
                        r.snapshot(), r.blkdebug()), shownName);
                fdSetDups.put(d, dup);
                return d;
            } catch (RuntimeException e) {
                sets.release(dup);
                throw e;
            }
        }
        return openImage(option, r, shownName);
    }

    /** Closes an image and gives back the fd-set duplicate it was opened from, if any. */
    private void closeDriver(BlockDriver d) throws IOException {
        try {
            d.close();
        } finally {
            Integer dup = fdSetDups.remove(d);
            dev.jvmm.core.fd.FdSets sets = fdSets;
            if (dup != null && sets != null) {
                sets.release(dup);
            }
        }
    }

    /** qemu_open's /dev/fdset/N: a duplicate of the set's descriptor with the access mode asked for. */
    private static int openFdSet(String option, dev.jvmm.core.fd.FdSets sets, String path, boolean readOnly,
            DriveCache cache) {
        int flags = (readOnly ? 0 : 2) | (cache != null && cache.direct() ? 0x4000 : 0);
        try {
            return sets.open(path, flags);
        } catch (IOException e) {
            throw new OptionException(option, e.getMessage());
        }
    }

    private BlockDriver openImage(String option, BlockImageFactory.Request r, String shownName) {
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
            if (m != null && m.endsWith("bad magic, not a qcow2 image")) {
                return rethrowQcow2(option);
            }
            // The drivers already say "Could not open 'FILE': why" where they know the file.
            throw new OptionException(option, m != null && m.startsWith("Could not open '") ? m
                    : "Could not open '" + shownName + "': " + m);
        }
    }

    /** QEMU's qcow2 driver says only this when format=qcow2 meets another format. */
    private static BlockDriver rethrowQcow2(String option) {
        throw new OptionException(option, "Image is not in qcow2 format");
    }

    /** Adds a -blockdev (its text after "-blockdev "), JSON or key=value. */
    public BlockNode addBlockdev(String text) {
        return addBlockdev(BlockdevOptions.parse(text));
    }

    public BlockNode addBlockdev(BlockdevOptions o) {
        BlockNode n = buildNode(o, o.tree(), "", true, false);
        monitorOwned.add(n);
        return n;
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

    /**
     * @param parentRo the parent's read-only, which an inline child inherits unless it says otherwise (QEMU's
     *                 bdrv_inherited_options)
     */
    private BlockNode buildNode(BlockdevOptions o, Map<String, Object> t, String prefix, boolean root,
            boolean parentRo) {
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
        if (nodeName != null && nodesByName.containsKey(nodeName)) {
            // before any image is opened, so a duplicate never takes a second lock on the file
            throw new OptionException(option, "Duplicate nodes with node-name='" + nodeName + "'");
        }
        if (nodeName != null && named.containsKey(nodeName)) {
            throw new OptionException(option, "node-name=" + nodeName + " is conflicting with a device id");
        }
        boolean ro = bool(o, t, prefix, "read-only", parentRo);
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
                String aio = str(o, t, prefix, "aio", false);
                if (aio != null && !List.of(AioEngine.THREADS, AioEngine.NATIVE, AioEngine.IO_URING).contains(aio)) {
                    throw new OptionException(option, "Parameter 'aio' does not accept value '" + aio + "'");
                }
                if (AioEngine.NATIVE.equals(aio) && !cache.direct()) {
                    throw new OptionException(option,
                            "aio=native was specified, but it requires cache.direct=on, which was not specified.");
                }
                String aioProblem = AioEngine.unavailableReason(aio);
                if (aioProblem != null) {
                    throw new OptionException(option, "Unable to use io_uring: " + aioProblem);
                }
                checkFileOpens(option, filename, ro);
                node = new BlockNode(nodeName != null ? nodeName : autoName(), "file", filename, ro, cache, null,
                        null, null);
                fileOptions.put(node, new FileOpts(locking == null ? "auto" : locking, unmap,
                        aio == null ? AioEngine.THREADS : aio));
            }
            case "blkdebug" -> {
                BlockNode image = child(o, t, prefix, "image", ro);
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
                BlockNode file = child(o, t, prefix, "file", ro);
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
                FileOpts fo = fileOptions.getOrDefault(proto, new FileOpts("auto", unmap, AioEngine.THREADS));
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
                    closeDriver(n.driver());
                } catch (IOException x) {
                    // the option error is what the user needs to see
                }
            }
            throw e;
        }
    }

    private record FileOpts(String locking, boolean unmap, String aio) {
    }

    private final Map<BlockNode, FileOpts> fileOptions = new HashMap<>();
    private final Map<BlockNode, BlockImageFactory.Blkdebug> blkdebugOptions = new HashMap<>();

    /** A child given by reference (a node-name string) or inline (an object). */
    private BlockNode child(BlockdevOptions o, Map<String, Object> t, String prefix, String key, boolean ro) {
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
            return buildNode(o, cm, prefix + key + ".", false, ro);
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
        return attach(drive, qdevPath, qdevPath, null, propertyName);
    }

    /**
     * A device takes a drive (the general form, for IDE and other devices with or without removable media).
     *
     * @param drive        the drive= value: a -drive id or a node-name; null for a removable device without
     *                     drive= (QEMU then gives it an empty anonymous drive, named "" in query-block)
     * @param qdev         what query-block shows as "qdev" and DEVICE_TRAY_MOVED as "id": the device's id,
     *                     or its QOM path when it has none
     * @param qomPath      the device's QOM path ("/machine/peripheral/ID" for a device with an id), which QMP
     *                     id= arguments are resolved against
     * @param device       the device's tray and lock (an ATAPI CD-ROM), or null for a fixed disk
     * @param propertyName for the unknown-drive message, e.g. "ide-cd.drive"
     * @throws OptionException (option null) with QEMU's message; the caller prefixes its -device text
     */
    public Drive attach(String drive, String qdev, String qomPath, RemovableMediaDevice device,
            String propertyName) {
        if (drive == null) {
            if (device == null) {
                throw new OptionException(null, "No drive specified");
            }
            Drive d = new Drive("", null, DriveCache.WRITEBACK, BlockErrorPolicy.DEFAULT_WERROR,
                    BlockErrorPolicy.DEFAULT_RERROR, false, events, mainLoop, ioErrorStop);
            d.setRootStateReadOnly(true);
            DriveEntry anon = new DriveEntry(d, "none", null);
            anon.qdev = qdev;
            entries.put(d, anon);
            drives.add(d);
            d.attached(qdev, qomPath, device);
            return d;
        }
        DriveEntry e = named.get(drive);
        if (e != null) {
            if (e.qdev != null) {
                throw inUse(e, null);
            }
            if (e.drive.root() == null && device == null) {
                throw new OptionException(null, "Device needs media, but drive is empty");
            }
            e.qdev = qdev;
            e.drive.attached(qdev, qomPath, device);
            return e.drive;
        }
        String qdevPath = qdev;
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
            FileOpts fo = fileOptions.getOrDefault(n, new FileOpts("auto", false, AioEngine.THREADS));
            n.setDriver(open(null, new BlockImageFactory.Request("raw", Path.of(n.filename()), n.readOnly(),
                    n.cache(), fo.locking, fo.unmap, false, blkdebugOptions.get(n)), n.filename()));
        }
        nodeUsers.put(drive, qdevPath);
        Drive d = new Drive("", n, n.cache(), BlockErrorPolicy.DEFAULT_WERROR, BlockErrorPolicy.DEFAULT_RERROR,
                fileOptions.containsKey(n) && fileOptions.get(n).unmap, events, mainLoop, ioErrorStop);
        FileOpts proto = fileOptions.get(n.file() != null ? n.file() : n);
        d.setAio(proto != null ? proto.aio : AioEngine.THREADS);
        DriveEntry anon = new DriveEntry(d, "none", null);
        anon.qdev = qdevPath;
        entries.put(d, anon);
        drives.add(d);
        d.attached(qdev, qomPath, device);
        return d;
    }

    /**
     * Undoes {@link #attach} for a device that failed to realize, as QEMU releases the drive property: a
     * -drive is free for another device again; a drive made for the device (over a node, or empty) goes away.
     */
    public void detach(Drive d) {
        DriveEntry e = entries.get(d);
        if (e == null || e.qdev == null) {
            return;
        }
        if (e.option == null) {
            entries.remove(d);
            drives.remove(d);
            if (d.root() != null) {
                nodeUsers.remove(d.root().nodeName(), e.qdev);
            }
            d.close();
        } else {
            e.qdev = null;
        }
        d.detached();
    }

    /**
     * A device that had the drive was unplugged (QEMU's release_drive): a -drive goes with it, as
     * blockdev_auto_del deletes a legacy drive, its images closed unless the monitor owns them; a drive over
     * a blockdev-add node lets the node go back to the monitor, free for another device_add.
     */
    public void unplugged(Drive d) {
        DriveEntry e = entries.get(d);
        if (e == null || e.qdev == null) {
            return;
        }
        if (e.option == null) {
            detach(d);
            return;
        }
        try {
            d.flush();
        } catch (IOException ex) {
            // the guest's data went with its last acknowledged flush; closing goes on
        }
        entries.remove(d);
        drives.remove(d);
        named.values().remove(e);
        d.detached();
        d.close();
        BlockNode root = d.root();
        if (root != null && !hasBackend(root)) {
            release(root);
        }
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
        attachAuto(d, qdevPath, qdevPath, null);
    }

    /**
     * Connects an if=ide (or other) drive to the default device the machine made for it; {@code device} is the
     * CD-ROM's tray for media=cdrom, null for a disk. See {@link #attach(String, String, String,
     * RemovableMediaDevice, String)} for qdev and qomPath. An empty drive with media=disk fails as in QEMU.
     */
    public void attachAuto(Drive d, String qdev, String qomPath, RemovableMediaDevice device) {
        DriveEntry e = entries.get(d);
        if (e.qdev != null) {
            throw inUse(e, e.option);
        }
        if (d.root() == null && device == null) {
            throw new OptionException(null, "Device needs media, but drive is empty");
        }
        e.qdev = qdev;
        d.attached(qdev, qomPath, device);
    }

    /** Where a drive made by -drive sits (interface, bus, unit, media); null for a drive a device made. */
    public DriveLocation location(Drive d) {
        DriveEntry e = entries.get(d);
        return e == null || e.option == null ? null : new DriveLocation(e.iface, e.bus, e.unit, e.media);
    }

    /**
     * QEMU's default CD-ROM (without -nodefaults): an empty if=ide,index=2,media=cdrom drive (ide1-cd0), unless
     * a drive already sits there. Returns it, or null when the place was taken. Call after every -drive.
     */
    public Drive addDefaultCdrom() {
        if (usedSlots.contains("ide:1:0")) {
            return null;
        }
        return addDrive(DriveOptions.parse("-drive if=ide,index=2,media=cdrom", "if=ide,index=2,media=cdrom"));
    }

    /**
     * QEMU's drive_check_orphans, after the machine made its devices: a drive with an interface other than
     * none that no device took is one the machine has no place for ("machine type does not support
     * if=ide,bus=2,unit=0"), reported under its own option.
     */
    public void checkOrphans() {
        for (DriveEntry e : named.values()) {
            if (e.qdev == null && e.option != null && !e.iface.equals("none")) {
                throw new OptionException(e.option, "machine type does not support if=" + e.iface + ",bus=" + e.bus
                        + ",unit=" + e.unit);
            }
        }
    }

    /** Lets id= arguments tell a device without a drive from no device at all (QEMU's two messages). */
    public void setDeviceExists(Predicate<String> qomPathIsDevice) {
        this.deviceExists = qomPathIsDevice;
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
                closeDriver(d);
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
    @Override
    public List<BlockInfo> queryBlock() {
        List<BlockInfo> out = new ArrayList<>();
        for (Drive d : drives) {
            BlockNode r = d.root();
            out.add(new BlockInfo(d.name(), d.qdev(), d.removable(), d.mediumLocked(),
                    d.ioStatusShown() ? d.ioStatus() : null,
                    r == null ? null : deviceInfo(r, false, d.cache()), d.hasTray() ? d.trayOpen() : null));
        }
        return out;
    }

    /** query-named-block-nodes: every node, newest first as QEMU lists them. */
    @Override
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
    @Override
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
                // QEMU counts the chain only while it walks it, which flat output does not do.
                n.backing() == null ? null : n.backing().filename(), flat ? 0 : n.backingDepth(), false, "off",
                cache, 0,
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

    // ---- removable media (QEMU's block/qapi-sysemu.c) ----

    /** blockdev-change-medium's read-only-mode. */
    public enum ReadOnlyMode {
        /** Keep the read-only state of the medium taken out (of the drive, when it was empty). */
        RETAIN,
        READ_ONLY,
        READ_WRITE;

        /** The QAPI value ("retain", "read-only", "read-write"), or null when unknown. */
        public static ReadOnlyMode of(String qapi) {
            return switch (qapi) {
                case "retain" -> RETAIN;
                case "read-only" -> READ_ONLY;
                case "read-write" -> READ_WRITE;
                default -> null;
            };
        }
    }

    /** QOM containers: an id= naming one of these is an object, not a device. */
    private static final Set<String> CONTAINERS = Set.of("/", "/machine", "/machine/peripheral",
            "/machine/peripheral-anon", "/machine/unattached");

    /**
     * QEMU's qmp_get_blk: exactly one of a backend name (device=) and a device id or QOM path (id=, resolved
     * below /machine/peripheral unless absolute).
     */
    private Drive lookup(String device, String id) throws MachineCommandException {
        if ((device == null) == (id == null)) {
            throw MachineCommandException.generic("Need exactly one of 'device' and 'id'");
        }
        if (device != null) {
            Drive d = drive(device);
            if (d == null) {
                throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                        "Device '" + device + "' not found");
            }
            return d;
        }
        String path = id.startsWith("/") ? id : id.isEmpty() ? "/machine/peripheral" : "/machine/peripheral/" + id;
        for (Drive d : drives) {
            String q = d.qomPath();
            // virtio-blk's drive belongs to the virtio-backend child of the device the id names
            if (q != null && (q.equals(path) || q.equals(path + "/virtio-backend"))) {
                return d;
            }
        }
        if (CONTAINERS.contains(path)) {
            throw MachineCommandException.generic(id + " is not a hotpluggable device");
        }
        if (deviceExists.test(path)) {
            throw MachineCommandException.generic("Device does not have a block device backend");
        }
        throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND, "Device '" + id + "' not found");
    }

    /** do_open_tray's outcomes other than an error. */
    private enum TrayResult { OPEN, NO_TRAY, GUEST_ASKED }

    private TrayResult doOpenTray(String device, String id, boolean force) throws MachineCommandException {
        Drive d = lookup(device, id);
        String label = id != null ? id : device;
        if (!d.removable()) {
            throw MachineCommandException.generic("Device '" + label + "' is not removable");
        }
        if (!d.hasTray()) {
            return TrayResult.NO_TRAY;
        }
        if (d.trayOpen()) {
            return TrayResult.OPEN;
        }
        boolean locked = d.mediumLocked();
        if (locked) {
            // the guest hears of the request first; with force the device also drops its lock
            d.ejectRequest(force);
        }
        if (!locked || force) {
            d.changeMedia(false);
        }
        return locked && !force ? TrayResult.GUEST_ASKED : TrayResult.OPEN;
    }

    private static MachineCommandException lockedError(String device, String id) {
        return MachineCommandException.generic("Device '" + (id != null ? id : device) + "' is locked and force was"
                + " not specified, wait for tray to open and try again");
    }

    /** eject: open the tray (asking the guest when it locked it) and take the medium out. */
    @Override
    public void eject(String device, String id, boolean force) throws MachineCommandException {
        if (doOpenTray(device, id, force) == TrayResult.GUEST_ASKED) {
            throw lockedError(device, id);
        }
        removeMedium(device, id);
    }

    /**
     * blockdev-open-tray. On a locked tray without force the guest is asked to open it and the command still
     * succeeds (DEVICE_TRAY_MOVED follows when the guest does); a device without a tray ignores it.
     */
    @Override
    public void openTray(String device, String id, boolean force) throws MachineCommandException {
        doOpenTray(device, id, force);
    }

    /** blockdev-close-tray. */
    @Override
    public void closeTray(String device, String id) throws MachineCommandException {
        Drive d = lookup(device, id);
        if (!d.removable()) {
            throw MachineCommandException.generic("Device '" + (device != null ? device : id) + "' is not removable");
        }
        if (!d.hasTray() || !d.trayOpen()) {
            return;
        }
        d.changeMedia(true);
    }

    /** blockdev-remove-medium (QMP gives only id; eject passes device too). */
    @Override
    public void removeMedium(String device, String id) throws MachineCommandException {
        Drive d = lookup(device, id);
        String label = device != null ? device : id;
        boolean attached = d.qdev() != null;
        if (attached && !d.removable()) {
            throw MachineCommandException.generic("Device '" + label + "' is not removable");
        }
        if (attached && d.hasTray() && !d.trayOpen()) {
            throw MachineCommandException.generic("Tray of device '" + label + "' is not open");
        }
        BlockNode old = d.removeMedium();
        if (old == null) {
            return;
        }
        release(old);
        if (!d.hasTray()) {
            // a tray-less device learns of the removal here, as it never saw the tray open
            d.changeMedia(false);
        }
    }

    /** blockdev-insert-medium: a node from blockdev-add (or -blockdev) into an open, empty tray. */
    @Override
    public void insertMedium(String id, String nodeName) throws MachineCommandException {
        Drive d = lookup(null, id);
        BlockNode n = nodesByName.get(nodeName);
        if (n == null) {
            throw MachineCommandException.generic("Node '" + nodeName + "' not found");
        }
        if (hasBackend(n)) {
            throw MachineCommandException.generic("Node '" + nodeName + "' is already in use");
        }
        insertAnon(d, n);
    }

    private void insertAnon(Drive d, BlockNode n) throws MachineCommandException {
        boolean attached = d.qdev() != null;
        if (attached && !d.removable()) {
            throw MachineCommandException.generic("Device is not removable");
        }
        if (attached && d.hasTray() && !d.trayOpen()) {
            throw MachineCommandException.generic("Tray of the device is not open");
        }
        if (d.hasMedium()) {
            throw MachineCommandException.generic("There already is a medium in the device");
        }
        if (n.driver() == null) {
            // a protocol node read directly, opened as raw on first use as attach does
            FileOpts fo = fileOptions.getOrDefault(n, new FileOpts("auto", false, AioEngine.THREADS));
            try {
                n.setDriver(open(null, new BlockImageFactory.Request("raw", Path.of(n.filename()), n.readOnly(),
                        n.cache(), fo.locking, fo.unmap, false, blkdebugOptions.get(n)), n.filename()));
            } catch (OptionException e) {
                throw MachineCommandException.generic(e.getMessage());
            }
        }
        d.insertMedium(n);
        if (!d.hasTray()) {
            d.changeMedia(true);
        }
    }

    /**
     * blockdev-change-medium: opens the new image first (its errors come before any tray movement), then opens
     * the tray, swaps the medium and closes the tray: DEVICE_TRAY_MOVED true, then false.
     *
     * @param format null to probe
     * @param mode   null for retain
     */
    @Override
    public void changeMedium(String device, String id, String filename, String format, boolean force,
            ReadOnlyMode mode) throws MachineCommandException {
        Drive d = lookup(device, id);
        if (d.qdev() != null && !d.removable()) {
            // QEMU opens the image before it finds the device fixed; jvmm's images take their locks when opened,
            // so opening first could fail on a lock the fixed device makes moot. Same answer either way.
            throw MachineCommandException.generic("Device '" + (id != null ? id : device) + "' is not removable");
        }
        boolean ro = switch (mode == null ? ReadOnlyMode.RETAIN : mode) {
            case RETAIN -> d.rootStateReadOnly();
            case READ_ONLY -> true;
            case READ_WRITE -> false;
        };
        if (format != null && !format.equals("raw") && !format.equals("qcow2")) {
            throw MachineCommandException.generic("Unknown driver '" + format + "'");
        }
        DriveCache c = d.cache();
        int before = nodes.size();
        BlockNode medium;
        try {
            medium = openChain(null, filename, format, null, ro, new DriveCache(true, c.direct(), c.noFlush()),
                    "auto", false, false);
        } catch (OptionException e) {
            unwind(before);
            throw MachineCommandException.generic(e.getMessage());
        }
        // the guest must not see the open tray between the steps (QEMU's big lock keeps it out)
        d.exclusive(() -> {
            try {
                if (doOpenTray(device, id, force) == TrayResult.GUEST_ASKED) {
                    throw lockedError(device, id);
                }
                removeMedium(device, id);
                insertAnon(d, medium);
            } catch (MachineCommandException e) {
                if (d.root() != medium) {
                    discard(medium);
                }
                throw e;
            }
            closeTray(device, id);
        });
    }

    /** Whether a drive uses the node as its medium or a device uses it directly (QEMU's bdrv_has_blk). */
    private boolean hasBackend(BlockNode n) {
        for (Drive d : drives) {
            if (d.root() == n) {
                return true;
            }
        }
        return nodeUsers.containsKey(n.nodeName());
    }

    /** A medium came out: the monitor's nodes stay for blockdev-del, the rest are closed (locks released). */
    private void release(BlockNode old) {
        nodeUsers.remove(old.nodeName());
        if (!monitorOwned.contains(old)) {
            discard(old);
        }
    }

    /**
     * Forgets a node and the children only it used, closing its image (which closes its backing images) and
     * any protocol node opened on its own.
     */
    private void discard(BlockNode top) {
        List<BlockNode> gone = new ArrayList<>();
        collect(top, gone, true);
        for (BlockNode n : gone) {
            nodes.remove(n);
            nodesByName.remove(n.nodeName());
            fileOptions.remove(n);
            blkdebugOptions.remove(n);
        }
        Set<BlockDriver> closed = new HashSet<>();
        for (BlockNode n : gone) {
            BlockDriver d = n.driver();
            if (d != null && closed.add(d) && !isBackingOfAnother(d, gone)) {
                try {
                    closeDriver(d);
                } catch (IOException e) {
                    // a close error of a medium taken out leaves nothing for the user to do
                }
            }
        }
    }

    private void collect(BlockNode n, List<BlockNode> out, boolean top) {
        if (n == null || out.contains(n) || (!top && (monitorOwned.contains(n) || usedOutside(n, out)))) {
            return;
        }
        out.add(n);
        collect(n.file(), out, false);
        collect(n.backing(), out, false);
    }

    /** Whether a node other than those being removed (or a drive) still refers to n. */
    private boolean usedOutside(BlockNode n, List<BlockNode> removing) {
        for (BlockNode p : nodes) {
            if (!removing.contains(p) && p != n && (p.file() == n || p.backing() == n)) {
                return true;
            }
        }
        return hasBackend(n);
    }

    private static boolean isBackingOfAnother(BlockDriver d, List<BlockNode> gone) {
        for (BlockNode n : gone) {
            BlockDriver o = n.driver();
            for (BlockDriver b = o == null ? null : o.backing(); b != null; b = b.backing()) {
                if (b == d) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * blockdev-add: the arguments as a -blockdev JSON tree (Long numbers, Boolean flags, nested maps,
     * {@link BlockdevOptions#NULL} for JSON null). The node belongs to the monitor.
     */
    @Override
    public BlockNode blockdevAdd(Map<String, Object> tree) throws MachineCommandException {
        int before = nodes.size();
        try {
            return addBlockdev(new BlockdevOptions("blockdev-add", tree, true));
        } catch (OptionException e) {
            // inline children made before the failure go too (the machine lives on, unlike after -blockdev)
            unwind(before);
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    /** blockdev-del: closes a node the monitor added that nothing uses. */
    @Override
    public void blockdevDel(String nodeName) throws MachineCommandException {
        BlockNode n = nodesByName.get(nodeName);
        if (n == null) {
            throw MachineCommandException.generic("Failed to find node with node-name='" + nodeName + "'");
        }
        if (hasBackend(n)) {
            throw MachineCommandException.generic("Node " + nodeName + " is in use");
        }
        if (!monitorOwned.contains(n)) {
            throw MachineCommandException.generic("Node " + nodeName + " is not owned by the monitor");
        }
        for (BlockNode p : nodes) {
            if (p != n && (p.file() == n || p.backing() == n)) {
                throw MachineCommandException.generic("Node " + nodeName + " is in use");
            }
        }
        monitorOwned.remove(n);
        discard(n);
    }

    /**
     * block_resize: device (a -drive id) wins over node-name, as QEMU's bdrv_lookup_bs; messages and
     * classes as QEMU 7.2 (all GenericError).
     */
    @Override
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
