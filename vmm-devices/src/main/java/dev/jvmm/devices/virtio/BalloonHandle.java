package dev.jvmm.devices.virtio;

import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.DeviceModel;

import java.util.Optional;

/**
 * The machine's balloon as QMP's balloon and query-balloon reach it (QEMU's balloon handler, of which there is
 * at most one), and as the machine closes it. The device model holds it as the balloon's instance.
 */
public final class BalloonHandle implements DeviceInstance {
    private final VirtioBalloon balloon;
    private final VirtioPciTransport function;

    BalloonHandle(VirtioBalloon balloon, VirtioPciTransport function) {
        this.balloon = balloon;
        this.function = function;
    }

    /** The machine's balloon, if a virtio-balloon-pci was created. */
    public static Optional<BalloonHandle> of(DeviceModel model) {
        return model.devices().stream().map(DeviceModel.Device::instance)
                .filter(BalloonHandle.class::isInstance).map(BalloonHandle.class::cast).findFirst();
    }

    /** balloon and query-balloon's handle over the model's balloon, found when each command runs. */
    public static BalloonControl control(DeviceModel model) {
        return new BalloonControl() {
            @Override
            public void balloon(long target) throws MachineCommandException {
                BalloonHandle.balloon(model, target);
            }

            @Override
            public long actual() throws MachineCommandException {
                return BalloonHandle.actual(model);
            }
        };
    }

    /** QEMU's qmp_balloon: no device first, then a target that is no size. */
    public static void balloon(DeviceModel model, long target) throws MachineCommandException {
        BalloonHandle b = active(model);
        if (target <= 0) {
            throw MachineCommandException.generic("Parameter 'target' expects a size");
        }
        b.balloon.setTarget(target);
    }

    /** query-balloon's actual, in bytes. */
    public static long actual(DeviceModel model) throws MachineCommandException {
        return active(model).balloon.actualBytes();
    }

    private static BalloonHandle active(DeviceModel model) throws MachineCommandException {
        return of(model).orElseThrow(() -> new MachineCommandException("DeviceNotActive",
                "No balloon device has been activated"));
    }

    public VirtioBalloon device() {
        return balloon;
    }

    /** The balloon's section is its transport's, which holds the device's state. */
    @Override
    public Optional<Saveable> state() {
        return Optional.of(function);
    }

    @Override
    public void close() {
        balloon.setStatsPollInterval(0);
        function.close();
    }
}
