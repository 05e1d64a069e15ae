package dev.jvmm.core.machine;

/** balloon and query-balloon's target: the machine's virtio-balloon, if it has one. */
public interface BalloonControl {
    /** Asks the guest to bring its RAM to target bytes (guest RAM minus the balloon). */
    void balloon(long target) throws MachineCommandException;

    /** query-balloon's "actual": guest RAM minus what the guest has given the balloon, in bytes. */
    long actual() throws MachineCommandException;

    /** A machine without a balloon: QEMU's DeviceNotActive for both. */
    BalloonControl NONE = new BalloonControl() {
        @Override
        public void balloon(long target) throws MachineCommandException {
            throw notActive();
        }

        @Override
        public long actual() throws MachineCommandException {
            throw notActive();
        }
    };

    static MachineCommandException notActive() {
        return new MachineCommandException("DeviceNotActive", "No balloon device has been activated");
    }
}
