package dev.jvmm.cli;

/** The -smp topology after QEMU's defaulting rules. */
record SmpTopology(int cpus, int sockets, int cores, int threads, int maxcpus) {
    static final SmpTopology SINGLE = new SmpTopology(1, 1, 1, 1, 1);
}
