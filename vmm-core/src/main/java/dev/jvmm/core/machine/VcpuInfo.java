package dev.jvmm.core.machine;

/**
 * One vCPU as query-cpus-fast and query-hotpluggable-cpus report it.
 *
 * @param cpuIndex  QEMU's cpu-index
 * @param threadId  kernel thread id (gettid) of the thread running the vCPU
 * @param socketId  topology property socket-id
 * @param coreId    topology property core-id
 * @param threadIdProp topology property thread-id (the SMT thread, not the host thread)
 * @param qomPath   e.g. "/machine/unattached/device[0]"; null for a free hotplug slot
 * @param type      QOM type, e.g. "qemu64-x86_64-cpu"
 */
public record VcpuInfo(int cpuIndex, long threadId, int socketId, int coreId, int threadIdProp, String qomPath,
        String type) {
}
