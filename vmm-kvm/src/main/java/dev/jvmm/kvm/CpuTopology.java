package dev.jvmm.kvm;

/** -smp topology: sockets x cores x threads; APIC IDs pack the three fields with power-of-two widths. */
public record CpuTopology(int sockets, int cores, int threads) {
    public CpuTopology {
        if (sockets < 1 || cores < 1 || threads < 1) {
            throw new IllegalArgumentException("bad CPU topology " + sockets + "/" + cores + "/" + threads);
        }
    }

    public static CpuTopology single() {
        return new CpuTopology(1, 1, 1);
    }

    public int cpus() {
        return sockets * cores * threads;
    }

    static int bitsFor(int count) {
        return count <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(count - 1);
    }

    public int threadBits() {
        return bitsFor(threads);
    }

    public int coreBits() {
        return bitsFor(cores);
    }

    /** Socket of CPU index, for query-cpus-fast "props". */
    public int socketOf(int index) {
        return index / (threads * cores);
    }

    public int coreOf(int index) {
        return (index / threads) % cores;
    }

    public int threadOf(int index) {
        return index % threads;
    }

    /** APIC ID of logical CPU index (0-based, socket-major as QEMU numbers them). */
    public int apicId(int index) {
        int thread = threadOf(index);
        int core = coreOf(index);
        int socket = socketOf(index);
        return (socket << (coreBits() + threadBits())) | (core << threadBits()) | thread;
    }
}
