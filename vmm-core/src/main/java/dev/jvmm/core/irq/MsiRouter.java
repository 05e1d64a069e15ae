package dev.jvmm.core.irq;

/**
 * Message-signalled interrupt routing for devices with MSI-X: each vector gets a route that the device
 * reprograms when the guest writes its table entry, and triggers without a KVM ioctl (KVM implements it as
 * a GSI route plus an irqfd). Devices see only this interface, so they unit-test without KVM.
 */
public interface MsiRouter {
    /** A route for one vector, initially pointing nowhere useful (address 0, data 0). */
    MsiVector allocate();

    /** One MSI-X vector's route. trigger() may be called from any thread. */
    interface MsiVector extends AutoCloseable {
        /** The guest wrote the vector's table entry (address and data); later triggers use it. */
        void update(long address, int data);

        /** Sends the message now (the caller has checked the vector and function are unmasked). */
        void trigger();

        /** Frees the route (device unplug or machine teardown). */
        @Override
        void close();
    }
}
