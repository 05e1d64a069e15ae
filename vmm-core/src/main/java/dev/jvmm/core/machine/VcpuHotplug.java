package dev.jvmm.core.machine;

import dev.jvmm.core.qom.QomNode;

/**
 * The machine's vCPUs as CPU hotplug (QEMU's x86_cpu_realizefn and x86_cpu_unrealizefn on a running machine)
 * needs them: the device model's CPU devices call it, the machine implements it with its hypervisor's vCPUs.
 * A slot is an index into the possible CPUs (-smp maxcpus), which is also QEMU's cpu-index.
 */
public interface VcpuHotplug {
    /**
     * Creates the vCPU of a slot (or takes back the one parked there by an earlier unplug) with the machine's
     * CPU model, and starts its thread in the state of an application processor waiting for INIT and SIPI.
     *
     * @param node       the CPU device's QOM node, which gets the CPU's properties and which query-cpus-fast
     *                   reports
     * @param hotplugged whether the machine runs already (device_add) rather than starting (-device)
     * @throws IllegalStateException with the hypervisor's reason when the vCPU cannot be made
     */
    void plug(int slot, QomNode node, boolean hotplugged);

    /** Stops the vCPU of a slot and parks it (KVM cannot destroy a vCPU); the slot is free again. */
    void unplug(int slot);
}
