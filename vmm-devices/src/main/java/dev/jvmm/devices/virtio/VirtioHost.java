package dev.jvmm.devices.virtio;

import dev.jvmm.core.memory.GuestMemory;

/** What the transport offers the device half of a virtio device ({@link VirtioDevice#attach}). */
public interface VirtioHost {
    GuestMemory memory();

    /** Features the driver accepted (valid once FEATURES_OK is set). */
    long negotiatedFeatures();

    /**
     * Section 4.1.4.3 / 2.4: device configuration changed (resize, balloon target): once the driver is
     * running (DRIVER_OK), bumps config_generation and sends the configuration change interrupt; before that
     * nothing (QEMU's virtio_notify_config). Any thread.
     */
    void configChanged();

    /**
     * QEMU's virtio_error: the device is broken (DEVICE_NEEDS_RESET set, configuration interrupt sent) and
     * processes nothing until the driver resets it. Any thread.
     */
    void fail(String reason);

    /** Runs task on the device thread, between requests (e.g. resubmitting kept requests). Any thread. */
    void execute(Runnable task);

    /** Pops again from queues that were held after {@link VirtioDevice#handle} returned false. Any thread. */
    void resume();

    /** Sends the used-buffer interrupt for queue if the driver wants one (after pushes outside handle). */
    void notifyUsed(VirtQueue queue);

    /** Queue i, for a device that restores the requests it held on it. */
    VirtQueue queue(int i);
}
