package dev.jvmm.devices.model;

import dev.jvmm.core.vmstate.Saveable;

import java.util.Optional;

/** A realized device as the machine handles it: reset with the machine, closed with it, saved with it. */
public interface DeviceInstance {
    /** Machine reset; devices on the PCI bus are reset by the bus and need nothing here. */
    default void reset() {
    }

    /** Releases threads, eventfds and images. */
    default void close() {
    }

    /**
     * The device leaves a running machine (the guest ejected it): what close releases, and what it held of
     * the machine's shared resources (a drive goes back to the block graph).
     */
    default void unplug() {
        close();
    }

    /** The device's state, when it has any. */
    default Optional<Saveable> state() {
        return Optional.empty();
    }

    /** A device with nothing to reset, close or save. */
    DeviceInstance STATELESS = new DeviceInstance() {
    };
}
