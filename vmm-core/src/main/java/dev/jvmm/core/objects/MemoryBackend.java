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
 */
public record MemoryBackend(String id, String type, long size, boolean share, Boolean merge, Boolean dump,
                            boolean prealloc, boolean reserve, boolean seal, java.util.Map<String, String> values) {
    public static final String RAM = "memory-backend-ram";
    public static final String MEMFD = "memory-backend-memfd";
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
        return new MemoryBackend(o.id(), o.type(), size, share, merge, dump, prealloc, reserve, seal, o.values());
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
        } else {
            m = GuestMemory.allocate(ranges, share, -1);
        }
        if (prealloc) {
            m.populate(LibC.MADV_POPULATE_WRITE);
        }
        return m;
    }
}
