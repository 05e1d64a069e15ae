package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * QEMU qcow2 image, version 2 and 3 (QEMU docs/interop/qcow2.txt). Reads standard, zero, compressed and unallocated
 * clusters (the latter from the backing file); writes allocate clusters and L2 tables at the end of the file and
 * keep refcounts exact. The dirty bit is never set: metadata is written through immediately, refcounts are raised
 * before a cluster is referenced and lowered after it is dropped, so a crash can at worst leak clusters. Images with
 * internal snapshots open read-only only; encryption, external data files,
 * extended L2 entries and non-zlib compression are refused. The refcount table grows (moves to the end of the
 * file) when needed, up to 8 MiB. Discard and write-zeroes work on whole clusters as QEMU's do; freed clusters are
 * reused before the file grows; resize grows (moving the L1 table when needed) and shrinks; {@link #create} writes
 * what {@code qemu-img create -f qcow2} writes. The file underneath is an {@link ImageFile} (cache modes, locking).
 * Requests are serialized on the image (metadata caches are shared); the lock is never held outside a request.
 */
public final class Qcow2Image implements BlockDriver {
    /** qcow2.txt "Header": magic "QFI\xfb". */
    static final int QCOW_MAGIC = 0x514649fb;
    /** qcow2.txt: header bytes 0-71 exist in version 2 and 3. */
    static final int HEADER_V2_LENGTH = 72;
    /** qcow2.txt: version 3 headers are at least 104 bytes. */
    static final int HEADER_V3_MIN_LENGTH = 104;
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;

    static final long INCOMPAT_DIRTY = 1L;
    static final long INCOMPAT_CORRUPT = 1L << 1;
    static final long INCOMPAT_DATA_FILE = 1L << 2;
    static final long INCOMPAT_COMPRESSION = 1L << 3;
    static final long INCOMPAT_EXTL2 = 1L << 4;

    /** qcow2.txt "Header extensions" type codes. */
    static final int HEADER_EXT_END = 0;
    static final int HEADER_EXT_BACKING_FORMAT = 0xe2792aca;

    /** qcow2.txt "Cluster mapping": L1/L2 entry bit 63, refcount is exactly one. */
    static final long QCOW_OFLAG_COPIED = 1L << 63;
    /** L2 entry bit 62: compressed cluster descriptor. */
    static final long QCOW_OFLAG_COMPRESSED = 1L << 62;
    /** Standard L2 entry bit 0 (v3): reads as zeros. */
    static final long QCOW_OFLAG_ZERO = 1L;
    /** Bits 9-55 hold the host offset of L2 tables, standard clusters and refcount blocks. */
    static final long OFFSET_MASK = 0x00fffffffffffe00L;
    /** Refcount table entries: bits 9-63. */
    static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;

    /** Same bounds QEMU applies so a corrupt header cannot make us allocate gigabytes. */
    static final long MAX_L1_BYTES = 32L << 20;
    static final long MAX_REFTABLE_BYTES = 8L << 20;
    private static final int CACHE_TABLES = 64;

    private final Path path;
    private final ImageFile file;
    private final ImageOptions opts;
    private final boolean readOnly;
    private final int version;
    private final int clusterBits;
    private final int clusterSize;
    private volatile long size;
    private final int l2Bits;
    private long[] l1;
    private long l1Offset;
    private long[] refTable;
    private long refTableOffset;
    private final int refcountOrder;
    private final int refBlockBits; // log2 of entries per refcount block
    private final int csizeShift;
    private final long csizeMask;
    private final long compressedOffsetMask;
    private final BlockDriver backing;
    private final byte[] zeros;
    /** Write-through caches: entries are always identical to disk, so eviction is free. */
    private final Map<Long, long[]> l2Cache = lru();
    private final Map<Long, byte[]> refBlockCache = lru();
    private long fileEnd;
    /** No cluster below this index has refcount 0; the allocator scans up from here before growing the file. */
    private long freeHint;

    private static <V> Map<Long, V> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, V> e) {
                return size() > CACHE_TABLES;
            }
        };
    }

    public static Qcow2Image open(Path path, boolean readOnly) throws IOException {
        return open(path, ImageOptions.readOnly(readOnly), 0);
    }

    /** Opens path; backing files open read-only with the same cache and locking options. */
    public static Qcow2Image open(Path path, ImageOptions opts) throws IOException {
        return open(path, opts, 0);
    }

    static Qcow2Image open(Path path, ImageOptions opts, int depth) throws IOException {
        if (depth > MAX_BACKING_DEPTH) {
            throw new BlockException("backing chain deeper than " + MAX_BACKING_DEPTH + " at " + path);
        }
        ImageFile f = ImageFile.open(path, opts, ImageLock.heldPerms(opts.readOnly(), true),
                ImageLock.unsharedPerms(true, false));
        try {
            return new Qcow2Image(path, f, opts, depth);
        } catch (IOException | RuntimeException e) {
            f.close();
            if (e instanceof IOException io) {
                throw io;
            }
            throw new BlockException(path + ": invalid qcow2 image: " + e, e);
        }
    }

    /** The end of the highest write to the image file since open, metadata included (the file node's stat). */
    public long fileWrHighestOffset() {
        return file.wrHighestOffset();
    }

    private Qcow2Image(Path path, ImageFile file, ImageOptions opts, int depth) throws IOException {
        this.path = path;
        this.file = file;
        this.opts = opts;
        this.readOnly = opts.readOnly();
        long fileSize = file.size();
        if (fileSize < HEADER_V2_LENGTH) {
            throw bad("truncated header (" + fileSize + " bytes)");
        }
        ByteBuffer h = ByteBuffer.allocate(HEADER_V2_LENGTH);
        file.readFully(0, h);
        if (h.getInt(0) != QCOW_MAGIC) {
            throw bad("bad magic, not a qcow2 image");
        }
        version = h.getInt(4);
        if (version != 2 && version != 3) {
            throw bad("unsupported qcow2 version " + version);
        }
        if (version == 3 && fileSize < HEADER_V3_MIN_LENGTH) {
            throw bad("truncated version 3 header (" + fileSize + " bytes)");
        }
        long backingOffset = h.getLong(8);
        int backingSize = h.getInt(16);
        clusterBits = h.getInt(20);
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw bad("cluster_bits " + clusterBits + " out of range " + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS);
        }
        clusterSize = 1 << clusterBits;
        size = h.getLong(24);
        int cryptMethod = h.getInt(32);
        int l1Size = h.getInt(36);
        l1Offset = h.getLong(40);
        refTableOffset = h.getLong(48);
        int refTableClusters = h.getInt(56);
        int nbSnapshots = h.getInt(60);
        if (cryptMethod != 0) {
            throw bad("encrypted images are not supported");
        }
        if (size < 0) {
            throw bad("negative virtual size");
        }
        l2Bits = clusterBits - 3;
        long clusters = (size + clusterSize - 1) >>> clusterBits;
        long l1Needed = (clusters + (1L << l2Bits) - 1) >>> l2Bits;
        if (l1Size < 0 || (long) l1Size * 8 > MAX_L1_BYTES) {
            throw bad("L1 table too large (" + l1Size + " entries)");
        }
        if (l1Size < l1Needed) {
            throw bad("L1 table (" + l1Size + " entries) too small for virtual size " + size);
        }
        if ((l1Offset & (clusterSize - 1)) != 0 || l1Offset < 0) {
            throw bad("L1 table offset " + l1Offset + " not cluster aligned");
        }
        if (l1Size > 0 && (l1Offset == 0 || l1Offset + (long) l1Size * 8 > fileSize)) {
            throw bad("L1 table at " + l1Offset + " lies past the end of the file");
        }
        if ((refTableOffset & (clusterSize - 1)) != 0 || refTableOffset <= 0) {
            throw bad("refcount table offset " + refTableOffset + " invalid");
        }
        if (refTableClusters <= 0 || ((long) refTableClusters << clusterBits) > MAX_REFTABLE_BYTES) {
            throw bad("refcount table size " + refTableClusters + " clusters invalid");
        }
        long refTableBytes = (long) refTableClusters << clusterBits;
        if (refTableOffset + refTableBytes > fileSize) {
            throw bad("refcount table at " + refTableOffset + " lies past the end of the file");
        }

        long incompat = 0;
        long autoclear = 0;
        int headerLength = HEADER_V2_LENGTH;
        int order = 4;
        int compressionType = 0;
        if (version == 3) {
            ByteBuffer h3 = ByteBuffer.allocate(HEADER_V3_MIN_LENGTH - HEADER_V2_LENGTH + 1);
            h3.limit(HEADER_V3_MIN_LENGTH - HEADER_V2_LENGTH);
            file.readFully(HEADER_V2_LENGTH, h3);
            incompat = h3.getLong(0);
            autoclear = h3.getLong(16);
            order = h3.getInt(24);
            headerLength = h3.getInt(28);
            if (headerLength < HEADER_V3_MIN_LENGTH || headerLength > clusterSize || headerLength > fileSize) {
                throw bad("header_length " + headerLength + " invalid");
            }
            if (headerLength > HEADER_V3_MIN_LENGTH) {
                ByteBuffer ct = ByteBuffer.allocate(1);
                file.readFully(HEADER_V3_MIN_LENGTH, ct);
                compressionType = ct.get(0) & 0xff;
            }
            long known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION;
            if ((incompat & INCOMPAT_DATA_FILE) != 0) {
                throw bad("external data files are not supported");
            }
            if ((incompat & INCOMPAT_EXTL2) != 0) {
                throw bad("extended L2 entries (subclusters) are not supported");
            }
            if ((incompat & ~known) != 0) {
                throw bad(String.format("unknown incompatible feature bits 0x%x", incompat & ~known));
            }
            if ((incompat & INCOMPAT_COMPRESSION) != 0 && compressionType != 0) {
                throw bad("compression type " + compressionType + " is not supported (only zlib)");
            }
            if (order < 0 || order > 6) {
                throw bad("refcount_order " + order + " out of range 0..6");
            }
        }
        refcountOrder = order;
        if (!readOnly) {
            if ((incompat & INCOMPAT_DIRTY) != 0) {
                throw bad("image is marked dirty; repair it with 'qemu-img check -r all' before writing");
            }
            if ((incompat & INCOMPAT_CORRUPT) != 0) {
                throw bad("image is marked corrupt; it can only be opened read-only");
            }
            if (nbSnapshots != 0) {
                throw bad("writing images with internal snapshots is not supported; open read-only");
            }
        }

        // Header extensions: only the backing format matters to us.
        String backingFormat = null;
        long extPos = headerLength;
        long extLimit = Math.min(clusterSize, fileSize);
        if (backingOffset != 0) {
            extLimit = Math.min(extLimit, backingOffset);
        }
        while (extPos + 8 <= extLimit) {
            ByteBuffer eh = ByteBuffer.allocate(8);
            file.readFully(extPos, eh);
            int type = eh.getInt(0);
            long len = eh.getInt(4) & 0xffffffffL;
            if (type == HEADER_EXT_END) {
                break;
            }
            if (extPos + 8 + len > extLimit) {
                throw bad("header extension 0x" + Integer.toHexString(type) + " overruns the header cluster");
            }
            if (type == HEADER_EXT_BACKING_FORMAT) {
                ByteBuffer fmt = ByteBuffer.allocate((int) len);
                file.readFully(extPos + 8, fmt);
                backingFormat = new String(fmt.array(), StandardCharsets.UTF_8);
            }
            extPos += 8 + ((len + 7) & ~7L);
        }
        if (!readOnly && autoclear != 0) {
            // Autoclear features (e.g. dirty bitmaps) go stale once we write; qcow2.txt says to clear the bits.
            ByteBuffer zero = ByteBuffer.allocate(8);
            file.writeFully(88, zero);
        }

        // Tables.
        l1 = new long[l1Size];
        if (l1Size > 0) {
            ByteBuffer b = ByteBuffer.allocate(l1Size * 8);
            file.readFully(l1Offset, b);
            b.flip();
            b.asLongBuffer().get(l1);
        }
        refTable = new long[(int) (refTableBytes / 8)];
        ByteBuffer rb = ByteBuffer.allocate((int) refTableBytes);
        file.readFully(refTableOffset, rb);
        rb.flip();
        rb.asLongBuffer().get(refTable);
        refBlockBits = clusterBits + 3 - refcountOrder;

        csizeShift = 62 - (clusterBits - 8);
        csizeMask = (1L << (clusterBits - 8)) - 1;
        compressedOffsetMask = (1L << csizeShift) - 1;
        zeros = new byte[clusterSize];
        fileEnd = (fileSize + clusterSize - 1) & -(long) clusterSize;

        // Backing file last: everything above is validated first.
        if (backingOffset != 0) {
            if (backingSize <= 0 || backingSize > 1023 || backingOffset < 0 || backingOffset + backingSize > fileSize) {
                throw bad("backing file name at " + backingOffset + "+" + backingSize + " invalid");
            }
            ByteBuffer nb = ByteBuffer.allocate(backingSize);
            file.readFully(backingOffset, nb);
            String name = new String(nb.array(), StandardCharsets.UTF_8);
            Path dir = path.toAbsolutePath().getParent();
            Path bp = dir == null ? Path.of(name) : dir.resolve(name);
            ImageOptions bopts = opts.withReadOnly(true);
            if (backingFormat == null) {
                backing = BlockDriver.open(bp, bopts, depth + 1);
            } else if (backingFormat.equals("raw")) {
                backing = RawImage.open(bp, bopts, true);
            } else if (backingFormat.equals("qcow2")) {
                backing = Qcow2Image.open(bp, bopts, depth + 1);
            } else {
                throw bad("backing file format '" + backingFormat + "' is not supported");
            }
        } else {
            backing = null;
        }
    }

    /** qcow2.txt: version 3 header length QEMU writes (104 bytes plus the compression type byte, padded to 8). */
    static final int CREATE_HEADER_LENGTH = 112;
    static final int CREATE_CLUSTER_BITS = 16;
    static final int CREATE_REFCOUNT_ORDER = 4;

    /**
     * Creates a qcow2 v3 image as {@code qemu-img create -f qcow2} does: 64 KiB clusters, 16-bit refcounts, header,
     * refcount table, one refcount block and the L1 table in the first clusters. backing (may be null) is stored as
     * given (relative names resolve against the new image's directory); backingFormat ("raw", "qcow2") may be null.
     * The file must not exist.
     */
    public static void create(Path path, long size, Path backing, String backingFormat) throws IOException {
        if (size < 0) {
            throw new BlockException("Image size must be non-negative");
        }
        int cs = 1 << CREATE_CLUSTER_BITS;
        long l2Entries = cs / 8;
        long clusters = (size + cs - 1) / cs;
        long l1Entries = (clusters + l2Entries - 1) / l2Entries;
        if (l1Entries * 8 > MAX_L1_BYTES) {
            throw new BlockException("Image size is too large for this cluster size");
        }
        long l1Clusters = Math.max(1, (l1Entries * 8 + cs - 1) / cs);
        long totalClusters = 3 + l1Clusters; // header, refcount table, refcount block, L1
        long refsPerBlock = (long) cs * 8 / (1 << CREATE_REFCOUNT_ORDER);
        if (totalClusters > refsPerBlock) {
            throw new BlockException("Image size is too large");
        }
        ByteBuffer hdr = ByteBuffer.allocate(cs);
        hdr.putInt(0, QCOW_MAGIC).putInt(4, 3);
        hdr.putInt(20, CREATE_CLUSTER_BITS).putLong(24, size);
        hdr.putInt(36, (int) l1Entries).putLong(40, 3L * cs);
        hdr.putLong(48, cs).putInt(56, 1);
        hdr.putInt(96, CREATE_REFCOUNT_ORDER).putInt(100, CREATE_HEADER_LENGTH);
        int pos = CREATE_HEADER_LENGTH;
        if (backingFormat != null) {
            byte[] fmt = backingFormat.getBytes(StandardCharsets.UTF_8);
            hdr.putInt(pos, HEADER_EXT_BACKING_FORMAT).putInt(pos + 4, fmt.length);
            hdr.put(pos + 8, fmt);
            pos += 8 + ((fmt.length + 7) & ~7);
        }
        pos += 8; // end-of-extensions marker (zeroes)
        if (backing != null) {
            byte[] name = backing.toString().getBytes(StandardCharsets.UTF_8);
            if (name.length == 0 || name.length > 1023 || pos + name.length > cs) {
                throw new BlockException("Backing file name too long");
            }
            hdr.put(pos, name);
            hdr.putLong(8, pos).putInt(16, name.length);
        }
        ByteBuffer refTable = ByteBuffer.allocate(cs).putLong(0, 2L * cs);
        ByteBuffer refBlock = ByteBuffer.allocate(cs);
        for (int i = 0; i < totalClusters; i++) {
            refBlock.putShort(i * 2, (short) 1);
        }
        try (FileChannel out = FileChannel.open(path,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeAll(out, hdr, 0);
            writeAll(out, refTable, cs);
            writeAll(out, refBlock, 2L * cs);
            // L1 entries are zero; like qemu-img, write only the bytes the entries use (the file ends there).
            long l1Bytes = Math.max(8, l1Entries * 8);
            writeAll(out, ByteBuffer.allocate((int) l1Bytes), 3L * cs);
            out.force(true);
        } catch (FileAlreadyExistsException e) {
            throw new BlockException("Could not create '" + path + "': File exists", e);
        }
    }

    private static void writeAll(FileChannel out, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            p += out.write(b, p);
        }
    }

    /**
     * snapshot=on: QEMU 7.2 creates a qcow2 overlay named vl.XXXXXX in $TMPDIR (default /var/tmp) over the drive's
     * image, opens it with cache.no-flush=on and deletes the name at once, so it vanishes with the process. The base
     * opens read-only through the overlay's backing link with baseOptions' cache and locking settings.
     */
    public static Qcow2Image createTemporaryOverlay(Path base, String baseFormat, ImageOptions baseOptions)
            throws IOException {
        return createTemporaryOverlay(base, baseFormat, baseOptions, null);
    }

    /** As above with the overlay in dir (null: $TMPDIR, else /var/tmp). baseFormat null probes the base. */
    public static Qcow2Image createTemporaryOverlay(Path base, String baseFormat, ImageOptions baseOptions, Path tmpDir)
            throws IOException {
        String tmp = System.getenv("TMPDIR");
        Path dir = tmpDir != null ? tmpDir : Path.of(tmp == null || tmp.isEmpty() ? "/var/tmp" : tmp);
        long size;
        String format;
        try (BlockDriver probe = "raw".equals(baseFormat)
                ? RawImage.open(base, baseOptions.withReadOnly(true))
                : BlockDriver.open(base, baseOptions.withReadOnly(true))) {
            size = probe.size();
            format = probe.format(); // recorded in the overlay so the base is never probed again
        }
        SecureRandom rnd = new SecureRandom();
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int attempt = 0; ; attempt++) {
            StringBuilder name = new StringBuilder("vl.");
            for (int i = 0; i < 6; i++) {
                name.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            Path overlay = dir.resolve(name.toString());
            try {
                create(overlay, size, base.toAbsolutePath(), format);
            } catch (BlockException e) {
                if (attempt < 100 && Files.exists(overlay)) {
                    continue;
                }
                throw new BlockException("Could not get temporary filename: " + e.getMessage(), e);
            }
            try {
                ImageOptions o = new ImageOptions(false, baseOptions.direct(), true, baseOptions.locking(),
                        baseOptions.discardUnmap());
                return open(overlay, o);
            } finally {
                Files.deleteIfExists(overlay);
            }
        }
    }

    private BlockException bad(String why) {
        return new BlockException(path + ": " + why);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    public int clusterSize() {
        return clusterSize;
    }

    public int version() {
        return version;
    }

    private void checkRange(long offset, long len) throws BlockException {
        if (offset < 0 || len < 0 || offset > size || len > size - offset) {
            throw new BlockException(String.format("request at %d+%d is past the end of %s (%d bytes)", offset, len, path, size));
        }
    }

    @Override
    public synchronized int read(long offset, ByteBuffer dst) throws IOException {
        int len = dst.remaining();
        checkRange(offset, len);
        long pos = offset;
        while (dst.hasRemaining()) {
            int inCluster = (int) (pos & (clusterSize - 1));
            int chunk = Math.min(dst.remaining(), clusterSize - inCluster);
            long entry = l2Entry(pos >>> clusterBits);
            long host = dataCluster(entry);
            if (host != 0) {
                // Guest clusters that follow each other on the host are read with one call.
                chunk = contiguousRun(pos, inCluster, host, dst.remaining(), false);
                ByteBuffer part = dst.slice(dst.position(), chunk);
                dataRead(host + inCluster, chunk);
                file.readFully(host + inCluster, part);
            } else {
                readCluster(entry, pos, inCluster, dst.slice(dst.position(), chunk));
            }
            dst.position(dst.position() + chunk);
            pos += chunk;
        }
        return len;
    }

    /** Host offset of a standard data cluster (allocated, not compressed, not zero), else 0. */
    private long dataCluster(long entry) throws BlockException {
        if ((entry & QCOW_OFLAG_COMPRESSED) != 0 || (version == 3 && (entry & QCOW_OFLAG_ZERO) != 0)) {
            return 0;
        }
        long host = entry & OFFSET_MASK;
        if (host != 0) {
            checkHost(host);
        }
        return host;
    }

    /**
     * Bytes from guest pos (inCluster into a cluster at host) up to max that lie contiguously on the host in data
     * clusters; writable additionally requires the COPIED flag (rewritable in place).
     */
    private int contiguousRun(long pos, int inCluster, long host, int max, boolean writable) throws IOException {
        int run = Math.min(max, clusterSize - inCluster);
        long nextGuest = (pos >>> clusterBits) + 1;
        long nextHost = host + clusterSize;
        while (run < max) {
            long e = l2EntryOrNone(nextGuest);
            if (dataCluster(e) != nextHost || (writable && (e & QCOW_OFLAG_COPIED) == 0)) {
                break;
            }
            run += Math.min(max - run, clusterSize);
            nextGuest++;
            nextHost += clusterSize;
        }
        return run;
    }

    /** Like l2Entry but -1 (never contiguous) past the end of the L1 table. */
    private long l2EntryOrNone(long guestCluster) throws IOException {
        if ((guestCluster >>> l2Bits) >= l1.length) {
            return -1;
        }
        return l2Entry(guestCluster);
    }

    /** blkdebug under this image: guest-data reads and writes are shown to it at their host offsets. */
    private volatile HostIoObserver dataObserver;

    /** Shows every guest-data read and in-place write on the image file to o first (null: none). */
    public void observeDataFile(HostIoObserver o) {
        dataObserver = o;
    }

    private void dataRead(long host, long bytes) throws IOException {
        HostIoObserver o = dataObserver;
        if (o != null) {
            o.hostRead(host, bytes);
        }
    }

    private void dataWrite(long host, long bytes) throws IOException {
        HostIoObserver o = dataObserver;
        if (o != null) {
            o.hostWrite(host, bytes);
        }
    }

    /** Serves bytes [inCluster, inCluster + dst.remaining()) of the cluster holding guest offset pos. */
    private void readCluster(long entry, long pos, int inCluster, ByteBuffer dst) throws IOException {
        if ((entry & QCOW_OFLAG_COMPRESSED) != 0) {
            byte[] data = decompress(entry);
            dst.put(data, inCluster, dst.remaining());
            return;
        }
        long host = entry & OFFSET_MASK;
        if (version == 3 && (entry & QCOW_OFLAG_ZERO) != 0) {
            fillZero(dst);
        } else if (host != 0) {
            checkHost(host);
            dataRead(host + inCluster, dst.remaining());
            file.readFully(host + inCluster, dst);
        } else if (backing != null) {
            readBacking(pos, dst);
        } else {
            fillZero(dst);
        }
    }

    private void readBacking(long pos, ByteBuffer dst) throws IOException {
        long avail = Math.max(0, backing.size() - pos);
        int n = (int) Math.min(avail, dst.remaining());
        if (n > 0) {
            ByteBuffer part = dst.slice(dst.position(), n);
            backing.read(pos, part);
            dst.position(dst.position() + n);
        }
        fillZero(dst);
    }

    private void fillZero(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            dst.put(zeros, 0, Math.min(zeros.length, dst.remaining()));
        }
    }

    private void checkHost(long host) throws BlockException {
        if ((host & (clusterSize - 1)) != 0) {
            throw bad(String.format("cluster offset 0x%x not aligned", host));
        }
    }

    private byte[] decompress(long entry) throws IOException {
        long host = entry & compressedOffsetMask;
        long sectors = ((entry >>> csizeShift) & csizeMask) + 1;
        long end = (host & ~511L) + sectors * 512;
        end = Math.min(end, file.size());
        if (end <= host) {
            throw bad(String.format("compressed cluster at 0x%x lies past the end of the file", host));
        }
        ByteBuffer in = ByteBuffer.allocate((int) (end - host));
        file.readFully(host, in);
        byte[] out = new byte[clusterSize];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in.array());
            int n = 0;
            while (n < clusterSize) {
                int got = inf.inflate(out, n, clusterSize - n);
                if (got == 0) {
                    break; // finished early, out of input or wants a dictionary: corrupt either way
                }
                n += got;
            }
            if (n != clusterSize) {
                throw bad(String.format("compressed cluster at 0x%x decompresses to %d bytes, not %d", host, n, clusterSize));
            }
        } catch (DataFormatException e) {
            throw new BlockException(path + ": corrupt compressed cluster at 0x" + Long.toHexString(host), e);
        } finally {
            inf.end();
        }
        return out;
    }

    /** L2 entry for a guest cluster; 0 when its L2 table is absent. */
    private long l2Entry(long guestCluster) throws IOException {
        int l1Index = (int) (guestCluster >>> l2Bits);
        long l2Off = l1[l1Index] & OFFSET_MASK;
        if (l2Off == 0) {
            return 0;
        }
        return l2Table(l2Off)[(int) (guestCluster & ((1L << l2Bits) - 1))];
    }

    private long[] l2Table(long l2Off) throws IOException {
        long[] t = l2Cache.get(l2Off);
        if (t == null) {
            checkHost(l2Off);
            ByteBuffer b = ByteBuffer.allocate(clusterSize);
            file.readFully(l2Off, b);
            b.flip();
            t = new long[clusterSize / 8];
            b.asLongBuffer().get(t);
            l2Cache.put(l2Off, t);
        }
        return t;
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        checkRange(offset, src.remaining());
        long pos = offset;
        while (src.hasRemaining()) {
            int inCluster = (int) (pos & (clusterSize - 1));
            int chunk = Math.min(src.remaining(), clusterSize - inCluster);
            long entry = l2Entry(pos >>> clusterBits);
            long host = dataCluster(entry);
            if (host != 0 && (entry & QCOW_OFLAG_COPIED) != 0) {
                // Already ours: rewrite in place, host-contiguous clusters in one call.
                chunk = contiguousRun(pos, inCluster, host, src.remaining(), true);
                dataWrite(host + inCluster, chunk);
                file.writeFully(host + inCluster, src.slice(src.position(), chunk));
            } else {
                int k = inCluster == 0 ? allocatableRun(pos, src.remaining()) : 0;
                if (k >= 2 && writeNewRun(pos, k, src.slice(src.position(), k * clusterSize))) {
                    chunk = k * clusterSize;
                } else {
                    writeCluster(pos, inCluster, src.slice(src.position(), chunk));
                }
            }
            src.position(src.position() + chunk);
            pos += chunk;
        }
    }

    /** Whole guest clusters from pos (within one L2 table, within max bytes) that need a fresh cluster. */
    private int allocatableRun(long pos, int max) throws IOException {
        long c = pos >>> clusterBits;
        long inTable = (1L << l2Bits) - (c & ((1L << l2Bits) - 1));
        int limit = (int) Math.min(inTable, max >>> clusterBits);
        int k = 0;
        while (k < limit) {
            long e = l2Entry(c + k);
            if (dataCluster(e) != 0 && (e & QCOW_OFLAG_COPIED) != 0) {
                break; // rewritable in place: the next loop round handles it
            }
            k++;
        }
        return k;
    }

    /**
     * Writes k whole guest clusters into k new host-contiguous clusters with one data write, one L2 write and one
     * refcount write (QEMU allocates runs the same way). Same order as single clusters: refcounts, data, L2 entries,
     * then the old references are dropped. Returns false (nothing done) when the run cannot be counted in one
     * existing refcount block; the caller then goes cluster by cluster.
     */
    private boolean writeNewRun(long pos, int k, ByteBuffer data) throws IOException {
        long guestCluster = pos >>> clusterBits;
        int l1Index = (int) (guestCluster >>> l2Bits);
        int l2Index = (int) (guestCluster & ((1L << l2Bits) - 1));
        long[] l2 = writableL2(l1Index); // may allocate the L2 table, so before the run is placed
        long l2Off = l1[l1Index] & OFFSET_MASK;
        long host = allocRun(k);
        if (host < 0) {
            return false;
        }
        file.writeFully(host, data);
        long[] old = Arrays.copyOfRange(l2, l2Index, l2Index + k);
        ByteBuffer entries = ByteBuffer.allocate(k * 8);
        for (int i = 0; i < k; i++) {
            long e = (host + ((long) i << clusterBits)) | QCOW_OFLAG_COPIED;
            l2[l2Index + i] = e;
            entries.putLong(i * 8, e);
        }
        file.writeFully(l2Off + l2Index * 8L, entries);
        for (long e : old) {
            release(e);
        }
        return true;
    }

    /**
     * k new clusters at the end of the file counted with one refcount write, or -1 when that is not possible or
     * freed clusters inside the file should be reused first.
     */
    private long allocRun(int k) throws IOException {
        long first = fileEnd >>> clusterBits;
        long ti = first >>> refBlockBits;
        while (freeHint < first && refcount(freeHint) != 0) {
            freeHint++;
        }
        if (freeHint < first) {
            return -1; // free clusters inside the file come first (single-cluster allocation fills them)
        }
        if (refcountOrder < 3 || ((first + k - 1) >>> refBlockBits) != ti || ti >= refTable.length) {
            return -1;
        }
        long blockOff = refTable[(int) ti] & REFT_OFFSET_MASK;
        if (blockOff == 0) {
            return -1;
        }
        byte[] block = refBlock(blockOff);
        int index = (int) (first & ((1L << refBlockBits) - 1));
        for (int i = 0; i < k; i++) {
            if (getRef(block, index + i) != 0) {
                throw bad(String.format("cluster 0x%x past the end of the image is in use", (first + i) << clusterBits));
            }
        }
        for (int i = 0; i < k; i++) {
            setRef(block, index + i, 1);
        }
        int width = (1 << refcountOrder) / 8;
        file.writeFully(blockOff + (long) index * width, ByteBuffer.wrap(block, index * width, k * width));
        long off = fileEnd;
        fileEnd += (long) k << clusterBits;
        return off;
    }

    private void writeCluster(long pos, int inCluster, ByteBuffer data) throws IOException {
        long guestCluster = pos >>> clusterBits;
        int l1Index = (int) (guestCluster >>> l2Bits);
        int l2Index = (int) (guestCluster & ((1L << l2Bits) - 1));
        long[] l2 = writableL2(l1Index);
        long l2Off = l1[l1Index] & OFFSET_MASK;
        long entry = l2[l2Index];
        boolean zeroFlag = version == 3 && (entry & QCOW_OFLAG_ZERO) != 0;
        if ((entry & QCOW_OFLAG_COMPRESSED) == 0 && (entry & QCOW_OFLAG_COPIED) != 0 && !zeroFlag
                && (entry & OFFSET_MASK) != 0) {
            long host = entry & OFFSET_MASK;
            checkHost(host);
            dataWrite(host + inCluster, data.remaining());
            file.writeFully(host + inCluster, data);
            return;
        }
        if (zeroFlag && (entry & QCOW_OFLAG_COMPRESSED) == 0 && (entry & QCOW_OFLAG_COPIED) != 0
                && (entry & OFFSET_MASK) != 0) {
            // A preallocated zero cluster (write-zeroes without unmap): fill it in place and drop the zero flag.
            long host = entry & OFFSET_MASK;
            checkHost(host);
            ByteBuffer full = ByteBuffer.allocate(clusterSize);
            full.put(inCluster, data, data.position(), data.remaining());
            file.writeFully(host, full);
            setL2(l2, l2Off, l2Index, host | QCOW_OFLAG_COPIED);
            return;
        }
        // Copy-on-write: a fresh cluster gets the old contents (backing, zeros, compressed) plus the new bytes.
        ByteBuffer full;
        if (data.remaining() == clusterSize) {
            full = data;
        } else {
            full = ByteBuffer.allocate(clusterSize);
            readCluster(entry, pos - inCluster, 0, full);
            full.clear();
            full.put(inCluster, data, data.position(), data.remaining());
        }
        long host = allocCluster();
        file.writeFully(host, full);
        setL2(l2, l2Off, l2Index, host | QCOW_OFLAG_COPIED);
        release(entry);
    }

    /** Drops the references the replaced L2 entry held. */
    private void release(long entry) throws IOException {
        if ((entry & QCOW_OFLAG_COMPRESSED) != 0) {
            long host = entry & compressedOffsetMask;
            long sectors = ((entry >>> csizeShift) & csizeMask) + 1;
            long start = host & ~511L;
            long last = start + sectors * 512 - 1;
            for (long c = start >>> clusterBits; c <= last >>> clusterBits; c++) {
                addRefcount(c << clusterBits, -1);
            }
        } else if ((entry & OFFSET_MASK) != 0) {
            addRefcount(entry & OFFSET_MASK, -1);
        }
    }

    private long[] writableL2(int l1Index) throws IOException {
        long l1e = l1[l1Index];
        long l2Off = l1e & OFFSET_MASK;
        if (l2Off == 0) {
            long off = allocCluster();
            file.writeFully(off, ByteBuffer.wrap(zeros));
            long[] t = new long[clusterSize / 8];
            l2Cache.put(off, t);
            setL1(l1Index, off | QCOW_OFLAG_COPIED);
            return t;
        }
        if ((l1e & QCOW_OFLAG_COPIED) == 0) {
            throw bad("L2 table at 0x" + Long.toHexString(l2Off) + " is shared (snapshot); writing it is not supported");
        }
        return l2Table(l2Off);
    }

    private void setL1(int index, long value) throws IOException {
        l1[index] = value;
        file.writeFully(l1Offset + index * 8L, ByteBuffer.allocate(8).putLong(0, value));
    }

    private void setL2(long[] l2, long l2Off, int index, long value) throws IOException {
        l2[index] = value;
        file.writeFully(l2Off + index * 8L, ByteBuffer.allocate(8).putLong(0, value));
    }

    /** Takes a free cluster (the lowest with refcount 0, else a new one at the end of the file) with refcount 1. */
    private long allocCluster() throws IOException {
        long endCluster = fileEnd >>> clusterBits;
        for (long c = freeHint; c < endCluster; c++) {
            if (refcount(c) == 0) {
                freeHint = c + 1;
                long off = c << clusterBits;
                addRefcount(off, 1);
                return off;
            }
        }
        freeHint = endCluster;
        long off = fileEnd;
        fileEnd += clusterSize;
        addRefcount(off, 1);
        return off;
    }

    /** Current refcount of a host cluster; 0 where no refcount block covers it. */
    private long refcount(long cluster) throws IOException {
        long tableIndex = cluster >>> refBlockBits;
        if (tableIndex >= refTable.length) {
            return 0;
        }
        long blockOff = refTable[(int) tableIndex] & REFT_OFFSET_MASK;
        if (blockOff == 0) {
            return 0;
        }
        return getRef(refBlock(blockOff), (int) (cluster & ((1L << refBlockBits) - 1)));
    }

    private void addRefcount(long host, long delta) throws IOException {
        long cluster = host >>> clusterBits;
        long tableIndex = cluster >>> refBlockBits;
        if (tableIndex >= refTable.length) {
            growRefTable(tableIndex);
        }
        int ti = (int) tableIndex;
        long blockOff = refTable[ti] & REFT_OFFSET_MASK;
        if (blockOff == 0) {
            if ((fileEnd >>> clusterBits >>> refBlockBits) >= refTable.length) {
                // The new block could not count itself: grow the table (which places blocks too), then retry.
                growRefTable(fileEnd >>> clusterBits >>> refBlockBits);
                addRefcount(host, delta);
                return;
            }
            blockOff = fileEnd;
            fileEnd += clusterSize;
            file.writeFully(blockOff, ByteBuffer.wrap(zeros));
            refBlockCache.put(blockOff, new byte[clusterSize]);
            refTable[ti] = blockOff;
            file.writeFully(refTableOffset + ti * 8L, ByteBuffer.allocate(8).putLong(0, blockOff));
            // The new block needs a reference of its own; it usually lies in the range it covers.
            addRefcount(blockOff, 1);
        }
        bumpInBlock(blockOff, cluster, delta);
    }

    /** Adjusts one refcount inside an existing refcount block, on disk and in the cache. */
    private void bumpInBlock(long blockOff, long cluster, long delta) throws IOException {
        byte[] block = refBlock(blockOff);
        int index = (int) (cluster & ((1L << refBlockBits) - 1));
        long value = getRef(block, index) + delta;
        long max = refcountOrder == 6 ? Long.MAX_VALUE : (1L << (1 << refcountOrder)) - 1;
        if (value < 0 || value > max) {
            throw bad(String.format("refcount of cluster 0x%x would become %d", cluster << clusterBits, value));
        }
        int byteIndex = setRef(block, index, value);
        int width = Math.max(1, (1 << refcountOrder) / 8);
        file.writeFully(blockOff + byteIndex, ByteBuffer.wrap(block, byteIndex, width));
        if (value == 0) {
            freeHint = Math.min(freeHint, cluster);
            // Give the space back to the host, as QEMU's pass-discard-request does for guest discards.
            if (opts.discardUnmap()) {
                file.punchHole(cluster << clusterBits, clusterSize);
            }
        }
    }

    /**
     * Moves the refcount table to the end of the file with room for at least {@code neededIndex}. New refcount blocks
     * for the area the new table and blocks occupy go right before it, already counting that area, so the header
     * switch is the only step that makes the new table live (a crash before it leaks clusters, nothing worse).
     */
    private void growRefTable(long neededIndex) throws IOException {
        long start = fileEnd;
        long firstIdx = (start >>> clusterBits) >>> refBlockBits;
        long tableClusters = 0;
        long newBlocks = 0;
        while (true) {
            long areaClusters = newBlocks + tableClusters;
            long lastIdx = areaClusters == 0 ? firstIdx - 1 : ((start >>> clusterBits) + areaClusters - 1) >>> refBlockBits;
            long entries = Math.max(Math.max(neededIndex, lastIdx) + 1, refTable.length * 2L);
            long t = (entries * 8 + clusterSize - 1) >>> clusterBits;
            long b = 0;
            for (long i = firstIdx; i <= lastIdx; i++) {
                if (i >= refTable.length || refTable[(int) i] == 0) {
                    b++;
                }
            }
            if (t == tableClusters && b == newBlocks) {
                break;
            }
            tableClusters = t;
            newBlocks = b;
            if ((tableClusters << clusterBits) > MAX_REFTABLE_BYTES) {
                throw bad("image needs a refcount table over " + (MAX_REFTABLE_BYTES >> 20) + " MiB; not supported");
            }
        }
        long tableOff = start + (newBlocks << clusterBits);
        long areaEnd = tableOff + (tableClusters << clusterBits);
        long[] table = Arrays.copyOf(refTable, (int) ((tableClusters << clusterBits) / 8));
        Map<Long, byte[]> fresh = new LinkedHashMap<>();
        long next = start;
        for (long i = firstIdx; i <= ((areaEnd >>> clusterBits) - 1) >>> refBlockBits; i++) {
            if (table[(int) i] == 0) {
                table[(int) i] = next;
                fresh.put(next, new byte[clusterSize]);
                next += clusterSize;
            }
        }
        if (next != tableOff) {
            throw bad("internal error: refcount table layout mismatch");
        }
        // Count the new area inside the fresh blocks in memory; existing blocks are bumped once the fresh ones are on disk.
        List<Long> inOldBlocks = new ArrayList<>();
        for (long c = start >>> clusterBits; c < areaEnd >>> clusterBits; c++) {
            long blockOff = table[(int) (c >>> refBlockBits)];
            byte[] block = fresh.get(blockOff);
            if (block != null) {
                setRef(block, (int) (c & ((1L << refBlockBits) - 1)), 1);
            } else {
                inOldBlocks.add(c);
            }
        }
        for (Map.Entry<Long, byte[]> e : fresh.entrySet()) {
            file.writeFully(e.getKey(), ByteBuffer.wrap(e.getValue()));
            refBlockCache.put(e.getKey(), e.getValue());
        }
        ByteBuffer tb = ByteBuffer.allocate(table.length * 8);
        tb.asLongBuffer().put(table);
        file.writeFully(tableOff, tb);
        for (long c : inOldBlocks) {
            bumpInBlock(table[(int) (c >>> refBlockBits)] & REFT_OFFSET_MASK, c, 1);
        }
        // Header fields refcount_table_offset (48) and refcount_table_clusters (56) in one write.
        ByteBuffer hdr = ByteBuffer.allocate(12).putLong(0, tableOff).putInt(8, (int) tableClusters);
        file.writeFully(48, hdr);
        long oldOff = refTableOffset;
        long oldClusters = ((long) refTable.length * 8) >>> clusterBits;
        refTable = table;
        refTableOffset = tableOff;
        fileEnd = areaEnd;
        for (long i = 0; i < oldClusters; i++) {
            addRefcount(oldOff + (i << clusterBits), -1);
        }
    }

    private byte[] refBlock(long off) throws IOException {
        byte[] b = refBlockCache.get(off);
        if (b == null) {
            checkHost(off);
            b = new byte[clusterSize];
            file.readFully(off, ByteBuffer.wrap(b));
            refBlockCache.put(off, b);
        }
        return b;
    }

    /** Refcounts below 8 bits pack least significant bit first; wider ones are big-endian. */
    private long getRef(byte[] b, int index) {
        int bits = 1 << refcountOrder;
        if (bits < 8) {
            int bit = index * bits;
            return ((b[bit >>> 3] & 0xff) >>> (bit & 7)) & ((1 << bits) - 1);
        }
        int bytes = bits / 8;
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v = (v << 8) | (b[index * bytes + i] & 0xff);
        }
        return v;
    }

    /** Stores a refcount and returns the first byte index that changed. */
    private int setRef(byte[] b, int index, long value) {
        int bits = 1 << refcountOrder;
        if (bits < 8) {
            int bit = index * bits;
            int mask = ((1 << bits) - 1) << (bit & 7);
            b[bit >>> 3] = (byte) ((b[bit >>> 3] & ~mask) | (((int) value << (bit & 7)) & mask));
            return bit >>> 3;
        }
        int bytes = bits / 8;
        for (int i = bytes - 1; i >= 0; i--) {
            b[index * bytes + i] = (byte) value;
            value >>>= 8;
        }
        return index * bytes;
    }

    /**
     * Guest discard (only with discard=unmap, as QEMU ignores it otherwise). Whole clusters are deallocated: on v3
     * they become zero clusters when a backing file could otherwise show through or the cluster was allocated (QEMU's
     * qcow2_cluster_discard), on v2 they become unallocated. Partial clusters are left alone, as in QEMU.
     */
    @Override
    public synchronized void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (!opts.discardUnmap()) {
            return;
        }
        long first = (offset + clusterSize - 1) >>> clusterBits;
        long end = (offset + length) >>> clusterBits;
        if (offset + length == size) {
            end = (size + clusterSize - 1) >>> clusterBits; // the partial last cluster counts as whole
        }
        for (long c = first; c < end; c++) {
            long old = l2Entry(c);
            boolean allocated = (old & (OFFSET_MASK | QCOW_OFLAG_COMPRESSED)) != 0;
            if (!allocated && backing == null) {
                continue;
            }
            long now = version == 3 ? QCOW_OFLAG_ZERO : 0;
            if (old != now) {
                replaceEntry(c, now);
            }
        }
    }

    /**
     * Whole clusters of v3 images become zero clusters (keeping their allocation unless mayUnmap, as QEMU does);
     * partial clusters and v2 images get zero bytes written.
     */
    @Override
    public synchronized void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        if (version < 3) {
            BlockDriver.super.writeZeroes(offset, length, mayUnmap);
            return;
        }
        long end = offset + length;
        long firstWhole = (offset + clusterSize - 1) & -(long) clusterSize;
        long endWhole = end == size ? ((end + clusterSize - 1) & -(long) clusterSize) : end & -(long) clusterSize;
        if (firstWhole >= endWhole) {
            BlockDriver.super.writeZeroes(offset, length, mayUnmap);
            return;
        }
        if (offset < firstWhole) {
            BlockDriver.super.writeZeroes(offset, firstWhole - offset, mayUnmap);
        }
        for (long c = firstWhole >>> clusterBits; c < endWhole >>> clusterBits; c++) {
            long old = l2Entry(c);
            long now;
            if (!mayUnmap && (old & QCOW_OFLAG_COMPRESSED) == 0 && (old & QCOW_OFLAG_COPIED) != 0
                    && (old & OFFSET_MASK) != 0) {
                now = (old & (OFFSET_MASK | QCOW_OFLAG_COPIED)) | QCOW_OFLAG_ZERO;
            } else {
                now = QCOW_OFLAG_ZERO;
            }
            if (old != now) {
                replaceEntry(c, now);
            }
        }
        if (endWhole < end) {
            BlockDriver.super.writeZeroes(endWhole, end - endWhole, mayUnmap);
        }
    }

    /** Points a guest cluster's L2 entry at now and drops the references the old entry held that now does not. */
    private void replaceEntry(long guestCluster, long now) throws IOException {
        int l1Index = (int) (guestCluster >>> l2Bits);
        int l2Index = (int) (guestCluster & ((1L << l2Bits) - 1));
        long[] l2 = writableL2(l1Index);
        long l2Off = l1[l1Index] & OFFSET_MASK;
        long old = l2[l2Index];
        setL2(l2, l2Off, l2Index, now);
        boolean keptHost = (old & QCOW_OFLAG_COMPRESSED) == 0 && (now & OFFSET_MASK) != 0
                && (now & OFFSET_MASK) == (old & OFFSET_MASK);
        if (!keptHost) {
            release(old);
        }
    }

    /**
     * block_resize. Growing raises the L1 table when needed (moved to the end of the file, as QEMU's
     * qcow2_grow_l1_table does) and, with a backing file, zeroes the new area so the backing file does not show
     * through (QEMU's BDRV_REQ_ZERO_WRITE on truncate). Shrinking deallocates the clusters past the new end and the
     * L2 tables that only mapped them, as QEMU 7.2's qcow2_co_truncate does.
     */
    @Override
    public synchronized void truncate(long newSize) throws IOException {
        checkWritable();
        if (newSize < 0) {
            throw new BlockException("Invalid size " + newSize);
        }
        if ((newSize & 511) != 0) {
            throw new BlockException("The new size must be a multiple of 512"); // QEMU 7.2 qcow2_co_truncate
        }
        long oldSize = size;
        if (newSize == oldSize) {
            return;
        }
        long l2Entries = 1L << l2Bits;
        if (newSize > oldSize) {
            long clusters = (newSize + clusterSize - 1) >>> clusterBits;
            long l1Needed = (clusters + l2Entries - 1) >>> l2Bits;
            if (l1Needed > l1.length) {
                growL1(l1Needed);
            }
            writeSize(newSize);
            if (backing != null && backing.size() > oldSize) {
                writeZeroes(oldSize, Math.min(newSize, backing.size()) - oldSize, true);
            }
            return;
        }
        long firstGone = (newSize + clusterSize - 1) >>> clusterBits;
        long oldEnd = (oldSize + clusterSize - 1) >>> clusterBits;
        for (long c = firstGone; c < oldEnd; c++) {
            int l1Index = (int) (c >>> l2Bits);
            if ((l1[l1Index] & OFFSET_MASK) == 0) {
                c = ((long) (l1Index + 1) << l2Bits) - 1; // no L2 table: nothing mapped in it
                continue;
            }
            if (l2Entry(c) != 0) {
                replaceEntry(c, 0);
            }
        }
        for (long i = (firstGone + l2Entries - 1) >>> l2Bits; i < l1.length; i++) {
            long l2Off = l1[(int) i] & OFFSET_MASK;
            if (l2Off != 0) {
                setL1((int) i, 0);
                l2Cache.remove(l2Off);
                addRefcount(l2Off, -1);
            }
        }
        writeSize(newSize);
    }

    private void writeSize(long newSize) throws IOException {
        file.writeFully(24, ByteBuffer.allocate(8).putLong(0, newSize));
        size = newSize;
    }

    /** Writes a larger L1 table in fresh clusters, switches the header to it, then frees the old one. */
    private void growL1(long needed) throws IOException {
        long bytes = ((needed * 8 + clusterSize - 1) >>> clusterBits) << clusterBits;
        if (bytes > MAX_L1_BYTES) {
            throw new BlockException("File too large"); // QEMU: -EFBIG from qcow2_grow_l1_table
        }
        int entries = (int) (bytes / 8);
        int n = (int) (bytes >>> clusterBits);
        // Contiguous clusters at the end of the file (free clusters inside it are rarely contiguous).
        long newOff = fileEnd;
        fileEnd += bytes;
        freeHint = Math.min(freeHint, newOff >>> clusterBits);
        for (int i = 0; i < n; i++) {
            addRefcount(newOff + ((long) i << clusterBits), 1);
        }
        long[] table = Arrays.copyOf(l1, entries);
        ByteBuffer b = ByteBuffer.allocate((int) bytes);
        b.asLongBuffer().put(table);
        file.writeFully(newOff, b);
        // l1_size (36) and l1_table_offset (40) together.
        file.writeFully(36, ByteBuffer.allocate(12).putInt(0, entries).putLong(4, newOff));
        long oldOff = l1Offset;
        long oldClusters = ((long) l1.length * 8 + clusterSize - 1) >>> clusterBits;
        l1 = table;
        l1Offset = newOff;
        for (long i = 0; i < oldClusters; i++) {
            addRefcount(oldOff + (i << clusterBits), -1);
        }
    }

    private void checkWritable() throws BlockException {
        if (readOnly) {
            throw new BlockException("image " + path + " is read-only");
        }
    }

    @Override
    public String format() {
        return "qcow2";
    }

    @Override
    public String filename() {
        return path.toString();
    }

    @Override
    public BlockDriver backing() {
        return backing;
    }

    @Override
    public long allocatedSize() {
        return file.allocatedSize();
    }

    public ImageOptions options() {
        return opts;
    }

    @Override
    public synchronized void flush() throws IOException {
        file.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (backing != null) {
                backing.close();
            }
        } finally {
            file.close();
        }
    }
}
