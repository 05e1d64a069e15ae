package dev.jvmm.devices.virtio;

import dev.jvmm.core.os.EventFd;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

/**
 * Virtio 1.1, section 5: the device-type specific half of a virtio device (block, console, balloon...). The
 * transport ({@link VirtioPciTransport}) owns feature negotiation, status, queues, interrupts and the device
 * thread; the device describes itself, serves its configuration space and handles popped chains.
 *
 * <p>Threads: {@link #readConfig}/{@link #writeConfig} run on a vCPU thread under the transport's lock;
 * {@link #handle} and tasks passed to {@link VirtioHost#execute} run on the device thread, never
 * concurrently with {@link #reset}.
 */
public interface VirtioDevice {
    /** Section 5: the virtio device ID (2 for block); the PCI device ID is 0x1040 plus this. */
    int deviceType();

    /** The PCI class code (base class, sub-class, prog-if) QEMU gives this device. */
    int pciClassCode();

    /** query-pci's description for that class ("SCSI controller", ...), or null where QEMU gives none. */
    String pciDescription();

    /** Name of the device thread, e.g. "virtio-blk-disk0". */
    String threadName();

    /** Device-specific feature bits offered (the transport adds VERSION_1, ring features). */
    long deviceFeatures();

    int queueCount();

    /** The power-of-two maximum size of queue i. */
    int queueMaxSize(int i);

    /** MSI-X vectors of the PCI function; QEMU's default is one per queue plus one for configuration. */
    default int msixVectors() {
        return queueCount() + 1;
    }

    /** Bytes of device configuration space (section 4.1.4.6); reads past it are all ones. */
    int configLength();

    /** Reads size (1, 2 or 4) little-endian bytes at offset, offset + size <= configLength(). */
    int readConfig(int offset, int size);

    /** The driver wrote configuration space (most of it is read-only and ignores the write). */
    void writeConfig(int offset, int size, int value);

    /** Called once when the transport is built, before any other call. */
    void attach(VirtioHost host);

    /** The driver set FEATURES_OK with these features; false refuses them (FEATURES_OK stays clear). */
    default boolean acceptFeatures(long features) {
        return true;
    }

    /** The driver wrote the status register (after the transport applied it); status 0 is {@link #reset}. */
    default void statusChanged(int status) {
    }

    /**
     * Handles the chain just popped from queue (device thread). Returns true when the request was completed
     * (pushed to the used ring) or failed the device, false to keep it: the transport then stops popping
     * this queue until {@link VirtioHost#resume()} (QEMU's BLOCK_ERROR_ACTION_STOP path).
     */
    boolean handle(VirtQueue queue, DescriptorChain chain);

    /**
     * An eventfd the device thread polls next to the queues, readable when requests the device handed to the
     * host finished (asynchronous disk I/O), or null for a device that completes every request in handle().
     */
    default EventFd asyncCompletions() {
        return null;
    }

    /** Device thread, after each wake-up: completes what finished asynchronously. */
    default void reapCompleted() {
    }

    /** Device thread, after a queue was drained of chains: submits the requests handle() prepared. */
    default void queueDrained(VirtQueue queue) {
    }

    /**
     * The device thread is quiesced (reset, saving, queue setup, close): wait for every request in flight and
     * complete it, so nothing touches guest memory afterwards (QEMU's blk_drain). Transport lock held.
     */
    default void drain() {
    }

    /** The transport is closed and its thread ended: release host resources. */
    default void release() {
    }

    /**
     * Device reset (driver wrote 0, or machine reset): the device thread is idle; drop kept requests and
     * return to the power-on state.
     */
    void reset();

    /**
     * Writes the device half's guest-visible state, requests it still holds included, into the transport's
     * section. Called with the device thread quiesced and the transport's deferred tasks run.
     */
    void saveState(StateWriter w);

    /**
     * Reads what {@link #saveState} wrote into a freshly built device of the same configuration, after the
     * transport restored its queues; same threading as {@link #saveState}.
     */
    void loadState(StateReader r) throws StateException;
}
