package dev.jvmm.core.memory;

/**
 * The hypervisor's guest-physical memory slots, as hot-plugged memory needs them: a region of host memory
 * becomes guest RAM at an address while a memory device is plugged, and stops being guest RAM when it is
 * unplugged. The machine implements it with KVM_SET_USER_MEMORY_REGION.
 */
public interface MemorySlots {
    /**
     * Maps [gpa, gpa + size) to host memory at hostAddress (page-aligned) and returns the slot's number for
     * {@link #removeSlot}.
     */
    int addSlot(long gpa, long size, long hostAddress, boolean readOnly);

    /** Unmaps a slot {@link #addSlot} made; the guest no longer reaches that memory. */
    void removeSlot(int slot);
}
