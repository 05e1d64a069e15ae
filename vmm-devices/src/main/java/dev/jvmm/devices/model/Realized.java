package dev.jvmm.devices.model;

import dev.jvmm.core.vmstate.Saveable;

import java.util.Optional;

/**
 * A realized device object with what the machine does to it: reset and close as given, and its state when
 * the object is {@link Saveable}. The board reaches the object through {@link #device(DeviceInstance, Class)}.
 *
 * @param device  the device object (a CmosRtc, a Piix4Pm, ...)
 * @param onReset machine reset (nothing for functions the PCI bus resets)
 * @param onClose releases what the device holds
 */
public record Realized<T>(T device, Runnable onReset, Runnable onClose) implements DeviceInstance {
    /** A device the machine neither resets nor closes itself. */
    public static <T> Realized<T> of(T device) {
        return new Realized<>(device, () -> { }, () -> { });
    }

    /** The device object behind an instance made by a factory that returns Realized. */
    public static <T> T device(DeviceInstance instance, Class<T> type) {
        return type.cast(((Realized<?>) instance).device());
    }

    @Override
    public void reset() {
        onReset.run();
    }

    @Override
    public void close() {
        onClose.run();
    }

    @Override
    public Optional<Saveable> state() {
        return device instanceof Saveable s ? Optional.of(s) : Optional.empty();
    }

    /**
     * This instance, with what leaving a running machine adds to close: the machine's shared resources the
     * device held (a drive goes back to the block graph).
     */
    public DeviceInstance withUnplug(Runnable afterClose) {
        Realized<T> self = this;
        return new DeviceInstance() {
            @Override
            public void reset() {
                self.reset();
            }

            @Override
            public void close() {
                self.close();
            }

            @Override
            public void unplug() {
                self.close();
                afterClose.run();
            }

            @Override
            public Optional<Saveable> state() {
                return self.state();
            }
        };
    }
}
