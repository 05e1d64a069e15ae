package dev.jvmm.cli;

import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.net.MachineNet;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NetdevContext;
import dev.jvmm.core.net.NetdevException;
import dev.jvmm.core.net.NetworkReport;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.core.state.RunState;
import dev.jvmm.devices.DeviceCatalog;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceModel;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A machine's network as the launcher assembles it (QEMU's net_init_clients and pc_nic_init): the net clients,
 * the context backends are made in, the QMP handle, and delivery that follows the run state. Shared by the pc
 * and none machines.
 */
final class MachineNetwork implements AutoCloseable {
    private final NetClients net = new NetClients();
    private final NetdevContext context;
    private final MachineNet control;

    MachineNetwork(LifecycleController lifecycle, ScheduledExecutorService timers) {
        EventBus events = lifecycle.events();
        this.context = new NetdevContext() {
            @Override
            public EventBus events() {
                return events;
            }

            @Override
            public int fd(String nameOrNumber) throws NetdevException {
                return NetFds.parse(nameOrNumber);
            }

            @Override
            public NetClients net() {
                return net;
            }
        };
        this.control = new MachineNet(net, context, timers);
        // frames to and from a stopped guest wait, and go when it runs again
        lifecycle.runState().addListener((from, to) -> net.setRunning(to == RunState.RUNNING));
    }

    NetClients clients() {
        return net;
    }

    NetControl control() {
        return control;
    }

    /**
     * Makes every -netdev, -nic and -net backend (before any device, as QEMU does) and returns the NIC slots;
     * withDefault: whether QEMU's default "-net nic -net user" can be made here.
     */
    List<NetOptions.Nic> build(NetOptions options, boolean withDefault) {
        return options.build(net, context, withDefault);
    }

    /** Whether this build has QEMU's default network: the default NIC model and the user backend. */
    boolean hasDefault() {
        return nicModels().contains(NetOptions.DEFAULT_NIC) && net.types().has("user");
    }

    /** net_check_clients's start-up warnings, once every device exists. */
    void warn(PrintStream err) {
        NetworkReport.checkClients(net).forEach(w -> err.println(Main.PROGRAM + ": warning: " + w));
    }

    /**
     * QEMU's pc_nic_init: each -nic/-net NIC as an unattached PCI device of its model, with its MAC and netdev
     * (qdev_set_nic_properties); a model this build lacks is QEMU's "Unsupported NIC model".
     */
    static void createNics(DeviceModel devices, List<NetOptions.Nic> nics) {
        List<String> models = nicModels();
        for (NetOptions.Nic nic : nics) {
            if (!models.contains(nic.device())) {
                throw new LaunchException("Unsupported NIC model: " + nic.device());
            }
            devices.addUnattached(nic.device(), nic.properties());
        }
    }

    /** The NIC models -nic and -net take: the PCI network devices of the catalog, sorted (qemu_get_nic_models). */
    static List<String> nicModels() {
        TypeRegistry types = PcMachine.registry();
        List<String> out = new ArrayList<>();
        for (DeviceClass c : DeviceCatalog.classes()) {
            TypeInfo t = c.type();
            if ("Network".equals(t.category()) && !t.isAbstract() && t.userCreatable()
                    && types.isA(t.name(), "pci-device")) {
                out.add(t.name());
            }
        }
        out.sort(null);
        return out;
    }

    /** Closes every backend (their threads and descriptors). */
    @Override
    public void close() {
        control.close();
    }
}
