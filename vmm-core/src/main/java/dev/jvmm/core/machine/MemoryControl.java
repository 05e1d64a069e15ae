package dev.jvmm.core.machine;

import java.util.List;

/**
 * The machine's memory as QMP reports it: the initial RAM, what memory devices add, and the memory devices
 * themselves (query-memory-size-summary, query-memory-devices). A machine without memory devices has none.
 */
public interface MemoryControl {
    /** -m size in bytes (QEMU's ram_size). */
    long baseMemory();

    /** The bytes plugged memory devices add. */
    long pluggedMemory();

    /** The plugged memory devices, by address. */
    List<DimmInfo> memoryDevices();

    /**
     * QEMU's PCDIMMDeviceInfo.
     *
     * @param id     the device's id, or null
     * @param memdev the backend's QOM path (/objects/ID)
     */
    record DimmInfo(String id, long addr, long size, long slot, long node, String memdev, boolean hotplugged,
                    boolean hotpluggable) {
    }

    /** A machine without RAM or memory devices (QEMU's none machine). */
    MemoryControl NONE = new MemoryControl() {
        @Override
        public long baseMemory() {
            return 0;
        }

        @Override
        public long pluggedMemory() {
            return 0;
        }

        @Override
        public List<DimmInfo> memoryDevices() {
            return List.of();
        }
    };
}
