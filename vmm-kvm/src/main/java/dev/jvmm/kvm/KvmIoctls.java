package dev.jvmm.kvm;

/**
 * ioctl request numbers and constants from linux/kvm.h (KVMIO = 0xAE), built with the asm-generic
 * _IO/_IOR/_IOW/_IOWR encoding: dir in bits 31-30, size in 29-16, type in 15-8, number in 7-0.
 */
public final class KvmIoctls {
    private KvmIoctls() {
    }

    private static final int IOC_NONE = 0;
    private static final int IOC_WRITE = 1;
    private static final int IOC_READ = 2;
    public static final int KVMIO = 0xAE;

    static long ioc(int dir, int type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    static long io(int nr) {
        return ioc(IOC_NONE, KVMIO, nr, 0);
    }

    static long ior(int nr, int size) {
        return ioc(IOC_READ, KVMIO, nr, size);
    }

    static long iow(int nr, int size) {
        return ioc(IOC_WRITE, KVMIO, nr, size);
    }

    static long iowr(int nr, int size) {
        return ioc(IOC_READ | IOC_WRITE, KVMIO, nr, size);
    }

    // Struct sizes (bytes) from linux/kvm.h on x86-64.
    public static final int SIZEOF_KVM_CPUID2 = 8;
    public static final int SIZEOF_KVM_CPUID_ENTRY2 = 40;
    public static final int SIZEOF_KVM_USERSPACE_MEMORY_REGION = 32;
    public static final int SIZEOF_KVM_IRQ_LEVEL = 8;
    public static final int SIZEOF_KVM_IRQ_ROUTING = 8;
    public static final int SIZEOF_KVM_IRQ_ROUTING_ENTRY = 48;
    public static final int SIZEOF_KVM_IRQFD = 32;
    public static final int SIZEOF_KVM_PIT_CONFIG = 64;
    public static final int SIZEOF_KVM_IOEVENTFD = 64;
    public static final int SIZEOF_KVM_MSI = 32;
    public static final int SIZEOF_KVM_REGS = 144;
    public static final int SIZEOF_KVM_SREGS = 312;
    public static final int SIZEOF_KVM_FPU = 416;
    public static final int SIZEOF_KVM_MSRS = 8;
    public static final int SIZEOF_KVM_MSR_ENTRY = 16;
    public static final int SIZEOF_KVM_LAPIC_STATE = 1024;
    public static final int SIZEOF_KVM_MP_STATE = 4;
    public static final int SIZEOF_KVM_IRQCHIP = 520;
    public static final int SIZEOF_KVM_DEBUGREGS = 128;
    public static final int SIZEOF_KVM_TRANSLATION = 24;
    public static final int SIZEOF_KVM_PIT_STATE2 = 112;

    public static final long KVM_GET_API_VERSION = io(0x00);
    public static final long KVM_CREATE_VM = io(0x01);
    public static final long KVM_CHECK_EXTENSION = io(0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, SIZEOF_KVM_CPUID2);
    /** struct kvm_msr_list: u32 nmsrs, then the indices. */
    public static final int SIZEOF_KVM_MSR_LIST = 4;
    /** The MSRs that describe what KVM can give a guest (feature MSRs), readable on the system fd. */
    public static final long KVM_GET_MSR_FEATURE_INDEX_LIST = iowr(0x0a, SIZEOF_KVM_MSR_LIST);
    public static final long KVM_CREATE_VCPU = io(0x41);
    public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, SIZEOF_KVM_USERSPACE_MEMORY_REGION);
    public static final long KVM_SET_TSS_ADDR = io(0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    public static final long KVM_CREATE_IRQCHIP = io(0x60);
    public static final long KVM_IRQ_LINE = iow(0x61, SIZEOF_KVM_IRQ_LEVEL);
    public static final long KVM_GET_IRQCHIP = iowr(0x62, SIZEOF_KVM_IRQCHIP);
    /** Declared _IOR in linux/kvm.h although data flows in; the number must match the kernel's. */
    public static final long KVM_SET_IRQCHIP = ior(0x63, SIZEOF_KVM_IRQCHIP);
    public static final long KVM_SET_GSI_ROUTING = iow(0x6a, SIZEOF_KVM_IRQ_ROUTING);
    public static final long KVM_IRQFD = iow(0x76, SIZEOF_KVM_IRQFD);
    public static final long KVM_CREATE_PIT2 = iow(0x77, SIZEOF_KVM_PIT_CONFIG);
    public static final long KVM_IOEVENTFD = iow(0x79, SIZEOF_KVM_IOEVENTFD);
    public static final long KVM_SIGNAL_MSI = iow(0xa5, SIZEOF_KVM_MSI);
    public static final long KVM_RUN = io(0x80);
    public static final long KVM_GET_REGS = ior(0x81, SIZEOF_KVM_REGS);
    public static final long KVM_SET_REGS = iow(0x82, SIZEOF_KVM_REGS);
    public static final long KVM_GET_SREGS = ior(0x83, SIZEOF_KVM_SREGS);
    public static final long KVM_SET_SREGS = iow(0x84, SIZEOF_KVM_SREGS);
    public static final long KVM_TRANSLATE = iowr(0x85, SIZEOF_KVM_TRANSLATION);
    public static final long KVM_GET_MSRS = iowr(0x88, SIZEOF_KVM_MSRS);
    public static final long KVM_SET_MSRS = iow(0x89, SIZEOF_KVM_MSRS);
    public static final long KVM_GET_FPU = ior(0x8c, SIZEOF_KVM_FPU);
    public static final long KVM_SET_FPU = iow(0x8d, SIZEOF_KVM_FPU);
    public static final long KVM_GET_LAPIC = ior(0x8e, SIZEOF_KVM_LAPIC_STATE);
    public static final long KVM_SET_LAPIC = iow(0x8f, SIZEOF_KVM_LAPIC_STATE);
    public static final long KVM_SET_CPUID2 = iow(0x90, SIZEOF_KVM_CPUID2);
    public static final long KVM_GET_MP_STATE = ior(0x98, SIZEOF_KVM_MP_STATE);
    public static final long KVM_SET_MP_STATE = iow(0x99, SIZEOF_KVM_MP_STATE);
    public static final long KVM_NMI = io(0x9a);
    public static final long KVM_GET_PIT2 = ior(0x9f, SIZEOF_KVM_PIT_STATE2);
    public static final long KVM_GET_DEBUGREGS = ior(0xa1, SIZEOF_KVM_DEBUGREGS);
    public static final long KVM_SET_PIT2 = iow(0xa0, SIZEOF_KVM_PIT_STATE2);

    /** The API version every KVM since Linux 2.6.22 reports. */
    public static final int KVM_API_VERSION = 12;

    // Capabilities (KVM_CHECK_EXTENSION).
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_SET_TSS_ADDR = 4;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_NR_VCPUS = 9;
    public static final int KVM_CAP_IRQ_ROUTING = 25;
    public static final int KVM_CAP_MAX_VCPUS = 66;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;

    // Exit reasons (kvm_run.exit_reason).
    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HYPERCALL = 3;
    public static final int KVM_EXIT_DEBUG = 4;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    public static final int KVM_EXIT_SYSTEM_EVENT = 24;

    public static final int KVM_EXIT_IO_IN = 0;
    public static final int KVM_EXIT_IO_OUT = 1;

    // kvm_run field offsets.
    public static final int RUN_IMMEDIATE_EXIT = 1;
    public static final int RUN_EXIT_REASON = 8;
    public static final int RUN_IO_DIRECTION = 32;
    public static final int RUN_IO_SIZE = 33;
    public static final int RUN_IO_PORT = 34;
    public static final int RUN_IO_COUNT = 36;
    public static final int RUN_IO_DATA_OFFSET = 40;
    public static final int RUN_MMIO_PHYS_ADDR = 32;
    public static final int RUN_MMIO_DATA = 40;
    public static final int RUN_MMIO_LEN = 48;
    public static final int RUN_MMIO_IS_WRITE = 52;
    public static final int RUN_FAIL_ENTRY_REASON = 32;
    public static final int RUN_INTERNAL_SUBERROR = 32;
    public static final int RUN_INTERNAL_NDATA = 36;
    public static final int RUN_INTERNAL_DATA = 40;
    public static final int RUN_SYSTEM_EVENT_TYPE = 32;
    public static final int RUN_SYSTEM_EVENT_NDATA = 36;
    public static final int RUN_SYSTEM_EVENT_DATA = 40;

    // kvm_system_event.type
    public static final int KVM_SYSTEM_EVENT_SHUTDOWN = 1;
    public static final int KVM_SYSTEM_EVENT_RESET = 2;
    public static final int KVM_SYSTEM_EVENT_CRASH = 3;

    // Interrupt routing.
    public static final int KVM_IRQ_ROUTING_IRQCHIP = 1;
    public static final int KVM_IRQ_ROUTING_MSI = 2;
    public static final int KVM_IRQCHIP_PIC_MASTER = 0;
    public static final int KVM_IRQCHIP_PIC_SLAVE = 1;
    public static final int KVM_IRQCHIP_IOAPIC = 2;
    public static final int KVM_PIT_SPEAKER_DUMMY = 1;

    // kvm_ioeventfd.flags
    public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
    public static final int KVM_IOEVENTFD_FLAG_PIO = 2;
    public static final int KVM_IOEVENTFD_FLAG_DEASSIGN = 4;

    // kvm_irqfd.flags
    public static final int KVM_IRQFD_FLAG_DEASSIGN = 1;

    // kvm_cpuid_entry2.flags
    public static final int KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

    // kvm_mp_state.mp_state
    public static final int KVM_MP_STATE_RUNNABLE = 0;
    public static final int KVM_MP_STATE_UNINITIALIZED = 1;
}
