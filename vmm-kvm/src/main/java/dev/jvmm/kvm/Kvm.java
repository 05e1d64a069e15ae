package dev.jvmm.kvm;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import dev.jvmm.core.os.LibC;

import java.util.function.Consumer;

import static dev.jvmm.kvm.KvmIoctls.*;

/** The /dev/kvm system handle: API checks, supported CPUID, and the factory for VMs. */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** Real-time signal used to kick vCPU threads out of KVM_RUN (SIGRTMIN+6); the JVM leaves it alone. */
    public static final int SIG_VCPU_KICK = 40;
    private static final int MAX_CPUID_ENTRIES = 256;

    private record Cap(int number, String name) {
    }

    private static final Cap[] REQUIRED = {
        new Cap(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"),
        new Cap(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"),
        new Cap(KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"),
        new Cap(KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"),
        new Cap(KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"),
        new Cap(KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"),
    };

    private final int fd;
    private final int vcpuMmapSize;

    private Kvm(int fd) {
        this.fd = fd;
        try {
            int version = KvmSys.ioctlOrThrow(fd, KVM_GET_API_VERSION, 0L, "KVM_GET_API_VERSION");
            if (version != KVM_API_VERSION) {
                throw new KvmException("KVM API version " + version + " is not supported (need "
                        + KVM_API_VERSION + ")");
            }
            for (Cap c : REQUIRED) {
                if (checkExtension(c.number()) <= 0) {
                    throw new KvmException("kvm does not support " + c.name());
                }
            }
            vcpuMmapSize = KvmSys.ioctlOrThrow(fd, KVM_GET_VCPU_MMAP_SIZE, 0L, "KVM_GET_VCPU_MMAP_SIZE");
            installKickHandler();
        } catch (RuntimeException e) {
            KvmSys.close(fd);
            throw e;
        }
    }

    /** Opens /dev/kvm; failures read like QEMU's ("Could not access KVM kernel module: ..."). */
    public static Kvm open() {
        return open(DEVICE);
    }

    public static Kvm open(String device) {
        int fd = KvmSys.open(device, O_RDWR_CLOEXEC);
        if (fd < 0) {
            throw new KvmException("Could not access KVM kernel module: " + LibC.describe(Native.getLastError()));
        }
        return new Kvm(fd);
    }

    private static final int O_RDWR_CLOEXEC = KvmSys.O_RDWR | KvmSys.O_CLOEXEC;

    /** True when /dev/kvm can be opened and passes the checks; for tests that need KVM. */
    public static boolean usable() {
        try (Kvm k = open()) {
            return true;
        } catch (KvmException | UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** The kick signal's handler is libc's getpid: a native no-op whose only effect is interrupting KVM_RUN. */
    private static void installKickHandler() {
        Function getpid = NativeLibrary.getInstance("c").getFunction("getpid");
        KvmSys.signal(SIG_VCPU_KICK, getpid);
    }

    public int checkExtension(int cap) {
        return KvmSys.ioctl(fd, KVM_CHECK_EXTENSION, cap);
    }

    /** Most vCPUs a VM may have (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4 as the API documents). */
    public int maxVcpus() {
        int max = checkExtension(KVM_CAP_MAX_VCPUS);
        if (max <= 0) {
            max = checkExtension(KVM_CAP_NR_VCPUS);
        }
        return max > 0 ? max : 4;
    }

    /** Recommended vCPU count (KVM_CAP_NR_VCPUS, else 4). */
    public int recommendedVcpus() {
        int n = checkExtension(KVM_CAP_NR_VCPUS);
        return n > 0 ? n : 4;
    }

    /**
     * QEMU's kvm_init check of the vCPU counts asked for: above the recommended count (KVM_CAP_NR_VCPUS) a
     * warning, above the most (KVM_CAP_MAX_VCPUS) an error after it; "SMP" is the boot count, "hotpluggable"
     * maxcpus. Warnings go to warn in QEMU's order; the error is a {@link KvmException} with QEMU's text.
     */
    public void checkVcpuCounts(int cpus, int maxCpus, Consumer<String> warn) {
        int soft = recommendedVcpus();
        int hard = maxVcpus();
        String[] names = {"SMP", "hotpluggable"};
        int[] counts = {cpus, maxCpus};
        for (int i = 0; i < names.length; i++) {
            if (counts[i] > soft) {
                warn.accept(String.format("Number of %s cpus requested (%d) exceeds the recommended cpus supported"
                        + " by KVM (%d)", names[i], counts[i], soft));
                if (counts[i] > hard) {
                    throw new KvmException(String.format("Number of %s cpus requested (%d) exceeds the maximum cpus"
                            + " supported by KVM (%d)", names[i], counts[i], hard));
                }
            }
        }
    }

    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    int fd() {
        return fd;
    }

    /** KVM_GET_SUPPORTED_CPUID: what this host's KVM can expose to a guest. */
    public CpuidEntry[] supportedCpuid() {
        Memory buf = new Memory(SIZEOF_KVM_CPUID2 + (long) MAX_CPUID_ENTRIES * SIZEOF_KVM_CPUID_ENTRY2);
        buf.clear();
        buf.setInt(0, MAX_CPUID_ENTRIES);
        KvmSys.ioctlOrThrow(fd, KVM_GET_SUPPORTED_CPUID, buf, "KVM_GET_SUPPORTED_CPUID");
        int n = buf.getInt(0);
        CpuidEntry[] out = new CpuidEntry[n];
        for (int i = 0; i < n; i++) {
            long o = SIZEOF_KVM_CPUID2 + (long) i * SIZEOF_KVM_CPUID_ENTRY2;
            out[i] = new CpuidEntry(buf.getInt(o), buf.getInt(o + 4), buf.getInt(o + 8), buf.getInt(o + 12),
                    buf.getInt(o + 16), buf.getInt(o + 20), buf.getInt(o + 24));
        }
        return out;
    }

    /**
     * The host as a CPU model sees it: the supported CPUID, the feature MSRs with their values
     * (KVM_GET_MSR_FEATURE_INDEX_LIST, then KVM_GET_MSRS on the system fd; none where the kernel lacks
     * them) and the brand string from /proc/cpuinfo.
     */
    public HostCpu hostCpu() {
        java.util.Map<Integer, Long> msrs = new java.util.LinkedHashMap<>();
        int max = 256;
        Memory list = new Memory(SIZEOF_KVM_MSR_LIST + 4L * max);
        list.clear();
        list.setInt(0, max);
        if (KvmSys.ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, list) >= 0) {
            int n = list.getInt(0);
            for (int i = 0; i < n; i++) {
                int index = list.getInt(SIZEOF_KVM_MSR_LIST + 4L * i);
                Memory m = new Memory(SIZEOF_KVM_MSRS + SIZEOF_KVM_MSR_ENTRY);
                m.clear();
                m.setInt(0, 1);
                m.setInt(SIZEOF_KVM_MSRS, index);
                if (KvmSys.ioctl(fd, KVM_GET_MSRS, m) == 1) {
                    msrs.put(index, m.getLong(SIZEOF_KVM_MSRS + 8));
                }
            }
        }
        return new HostCpu(java.util.List.of(supportedCpuid()), msrs, brand());
    }

    private static String brand() {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .findFirst().orElse("");
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    /** Creates a VM with the PC's in-kernel irqchip, PIT and GSI routing. */
    public KvmVm createVm() {
        return createVm(true);
    }

    /** A VM with or without KVM's in-kernel PIT (and with it the speaker port 0x61). */
    public KvmVm createVm(boolean pit) {
        return new KvmVm(this, pit);
    }

    @Override
    public void close() {
        KvmSys.close(fd);
    }
}
