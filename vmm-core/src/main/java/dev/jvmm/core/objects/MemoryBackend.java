package dev.jvmm.core.objects;

import com.sun.jna.LastErrorException;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.core.os.LibC;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.List;

/**
 * QEMU's host memory backends (qapi/qom.json MemoryBackendProperties) that jvmm maps guest RAM from:
 * memory-backend-ram (anonymous memory, private unless share=on) and memory-backend-memfd (a memfd_create
 * file, shared, sealed against resizing unless seal=off). The machine's RAM comes from the one that
 * -machine memory-backend= names; a backend nothing uses maps nothing.
 *
 * @param id       the object's id
 * @param type     memory-backend-ram or memory-backend-memfd
 * @param size     size= in bytes
 * @param share    share= (memfd: on unless given)
 * @param merge    merge= (KSM), null for the machine's mem-merge
 * @param dump     dump= (core dumps), null for the machine's dump-guest-core
 * @param prealloc prealloc=: every page populated before the guest runs
 * @param reserve  reserve= as given (jvmm maps without a swap reservation either way)
 * @param seal     memfd's seal=
 * @param values   every property given, as text, for qom-get
 * @param memPath  memory-backend-file's mem-path= (a file, or a directory for an unlinked temporary file), else
 *                 null
 */
public record MemoryBackend(String id, String type, long size, boolean share, Boolean merge, Boolean dump,
                            boolean prealloc, boolean reserve, boolean seal, java.util.Map<String, String> values,
                            String memPath) {
    public static final String RAM = "memory-backend-ram";
    public static final String MEMFD = "memory-backend-memfd";
    public static final String FILE = "memory-backend-file";
    /** The name QEMU gives its memfds; /proc/PID/maps shows it as /memfd:NAME. */
    static final String MEMFD_NAME = "memory-backend-memfd";

    static final PropType POLICY = PropType.enumeration("HostMemPolicy", null,
            List.of("default", "preferred", "bind", "interleave"));

    public static final TypeInfo BASE = TypeInfo.abstractType("memory-backend", "object")
            .implementing("user-creatable")
            .props(Property.of("share", PropType.BOOL, false),
                    Property.of("size", PropType.object("int")),
                    Property.of("dump", PropType.BOOL, true),
                    Property.of("prealloc-threads", PropType.object("int")),
                    Property.of("x-use-canonical-path-for-ramblock-id", PropType.BOOL, true),
                    Property.of("policy", POLICY, "default"),
                    Property.of("prealloc-context", PropType.link("thread-context")),
                    Property.of("prealloc", PropType.BOOL, false),
                    Property.of("reserve", PropType.BOOL, true),
                    Property.of("host-nodes", PropType.object("int")),
                    Property.of("merge", PropType.BOOL, true))
            .build();

    public static final TypeInfo RAM_TYPE = TypeInfo.type(RAM, "memory-backend").build();

    public static final TypeInfo MEMFD_TYPE = TypeInfo.type(MEMFD, "memory-backend")
            .props(Property.of("hugetlb", PropType.BOOL, false),
                    Property.of("seal", PropType.BOOL, true),
                    Property.of("hugetlbsize", PropType.object("int")))
            .build();

    static final List<String> KEYS = List.of("share", "size", "dump", "prealloc-threads",
            "x-use-canonical-path-for-ramblock-id", "policy", "prealloc", "reserve", "host-nodes", "merge");
    static final List<String> MEMFD_KEYS = List.of("hugetlb", "seal", "hugetlbsize");
    static final List<String> FILE_KEYS = List.of("mem-path", "discard-data", "align", "pmem", "readonly");

    static MemoryBackend create(ObjectOptions o) {
        boolean memfd = o.type().equals(MEMFD);
        long size = o.size("size");
        boolean share = o.bool("share", memfd);
        Boolean merge = o.values().containsKey("merge") ? o.bool("merge", true) : null;
        Boolean dump = o.values().containsKey("dump") ? o.bool("dump", true) : null;
        boolean prealloc = o.bool("prealloc", false);
        boolean reserve = o.bool("reserve", true);
        o.bool("x-use-canonical-path-for-ramblock-id", true);
        o.int64("prealloc-threads", 1);
        String policy = o.member("policy", "default", "default", "preferred", "bind", "interleave");
        String nodes = o.values().get("host-nodes");
        boolean seal = memfd && o.bool("seal", true);
        String memPath = null;
        if (o.type().equals(FILE)) {
            memPath = o.values().get("mem-path");
            if (memPath == null) {
                throw new OptionException(o.option(), "Parameter 'mem-path' is missing");
            }
            o.bool("discard-data", false);
            if (o.bool("pmem", false)) {
                throw new OptionException(o.option(), "pmem=on is not supported by jvmm");
            }
            if (o.bool("readonly", false)) {
                throw new OptionException(o.option(), "readonly=on is not supported by jvmm");
            }
            if (o.values().containsKey("align") && o.size("align") != 0) {
                throw new OptionException(o.option(), "align= is not supported by jvmm");
            }
        }
        if (memfd && o.bool("hugetlb", false)) {
            throw new OptionException(o.option(), "hugetlb=on is not supported by jvmm");
        }
        if (memfd && o.values().containsKey("hugetlbsize")) {
            o.size("hugetlbsize");
        }
        if (size == 0) {
            // the size property's setter refuses it before the backend is completed
            throw new OptionException(null, "property 'size' of " + o.type() + " doesn't take value '0'");
        }
        if (nodes != null && policy.equals("default")) {
            throw new OptionException(null, "host-nodes must be empty for policy default, or you should explicitly"
                    + " specify a policy other than default");
        }
        if (!policy.equals("default")) {
            throw new OptionException(o.option(), "policy=" + policy + " is not supported by jvmm (no NUMA binding)");
        }
        return new MemoryBackend(o.id(), o.type(), size, share, merge, dump, prealloc, reserve, seal, o.values(),
                memPath);
    }

    /**
     * QEMU's file_ram_open and file_ram_alloc: mem-path names the file (created when missing, grown to size
     * when empty; a shorter one is refused) or a directory, where an unlinked temporary file is made.
     */
    private int openBackingFile() {
        java.nio.file.Path p = java.nio.file.Path.of(memPath);
        int fd;
        try {
            if (java.nio.file.Files.isDirectory(p)) {
                java.nio.file.Path tmp = java.nio.file.Files.createTempFile(p, "qemu_back_mem." + id + ".", "");
                fd = LibC.open(tmp.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
                java.nio.file.Files.delete(tmp);
            } else {
                fd = LibC.open(memPath, LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0644);
            }
        } catch (LastErrorException | java.io.IOException e) {
            throw new IllegalStateException("can't open backing store " + memPath + " for guest RAM: "
                    + (e instanceof LastErrorException le ? LibC.describe(le.getErrorCode()) : e.getMessage()), e);
        }
        try {
            long fileSize = java.nio.file.Files.size(java.nio.file.Path.of("/proc/self/fd/" + fd));
            if (fileSize > 0 && fileSize < size) {
                throw new IllegalStateException(String.format("backing store size 0x%x does not match 'size' option"
                        + " 0x%x", fileSize, size));
            }
            if (fileSize < size) {
                LibC.ftruncate(fd, size);
            }
        } catch (java.io.IOException | LastErrorException | IllegalStateException e) {
            LibC.close(fd);
            throw e instanceof IllegalStateException ise ? ise : new IllegalStateException(
                    "can't set up backing store " + memPath + ": " + e.getMessage(), e);
        }
        return fd;
    }

    /** Maps the guest's RAM ranges (their sizes add up to size) from this backend. */
    public GuestMemory map(List<RamRange> ranges) {
        GuestMemory m;
        if (type.equals(MEMFD)) {
            int fd;
            try {
                fd = LibC.memfd_create(MEMFD_NAME, LibC.MFD_CLOEXEC | (seal ? LibC.MFD_ALLOW_SEALING : 0));
            } catch (LastErrorException e) {
                throw new IllegalStateException("cannot create memfd: " + LibC.describe(e.getErrorCode()), e);
            }
            try {
                LibC.ftruncate(fd, size);
                if (seal) {
                    LibC.fcntl(fd, LibC.F_ADD_SEALS, LibC.F_SEAL_GROW | LibC.F_SEAL_SHRINK | LibC.F_SEAL_SEAL);
                }
                m = GuestMemory.allocate(ranges, true, fd);
            } catch (LastErrorException e) {
                throw new IllegalStateException("failed to resize memfd to " + size + ": "
                        + LibC.describe(e.getErrorCode()), e);
            } finally {
                LibC.close(fd);
            }
        } else if (type.equals(FILE)) {
            int fd = openBackingFile();
            try {
                m = GuestMemory.allocate(ranges, share, fd);
            } finally {
                LibC.close(fd);
            }
        } else {
            m = GuestMemory.allocate(ranges, share, -1);
        }
        if (prealloc) {
            m.populate(LibC.MADV_POPULATE_WRITE);
        }
        return m;
    }
}
