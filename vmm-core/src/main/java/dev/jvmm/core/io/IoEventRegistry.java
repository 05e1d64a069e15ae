package dev.jvmm.core.io;

import dev.jvmm.core.os.EventFd;

/**
 * Guest writes that signal an eventfd instead of exiting to a device handler (KVM_IOEVENTFD). A virtio
 * queue kick registered here never returns to Java on the vCPU thread; the device's own thread drains the
 * eventfd. Where no registration is possible ({@link #NONE}), the write reaches the device's IoHandler as
 * usual, which must then signal the same EventFd itself: both paths end in the same place.
 */
public interface IoEventRegistry {
    /**
     * Makes a guest write of len bytes at addr (an MMIO address, or a port when pio) with value datamatch
     * signal fd. Returns false if this registry cannot do it (the write then exits to the handler).
     */
    boolean register(long addr, int len, boolean pio, long datamatch, EventFd fd);

    /** Undoes a successful {@link #register} with the same arguments (BAR moved or disabled, device reset). */
    void unregister(long addr, int len, boolean pio, long datamatch, EventFd fd);

    IoEventRegistry NONE = new IoEventRegistry() {
        @Override
        public boolean register(long addr, int len, boolean pio, long datamatch, EventFd fd) {
            return false;
        }

        @Override
        public void unregister(long addr, int len, boolean pio, long datamatch, EventFd fd) {
        }
    };
}
