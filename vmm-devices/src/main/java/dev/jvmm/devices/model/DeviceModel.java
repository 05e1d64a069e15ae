package dev.jvmm.devices.model;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.qom.Globals;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.QomService;
import dev.jvmm.core.qom.QomTree;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.core.qom.TypeRegistry;
import dev.jvmm.core.vmstate.MachineState;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The machine's devices as QEMU's qdev sees them: every device, whether from -device, a legacy option or
 * the board itself, is created here from its {@link DeviceClass}, with its properties settled by
 * {@link PropertyValues} (defaults, -global, arguments) and a node in the QOM tree: /machine/peripheral/ID,
 * /machine/peripheral-anon/device[N] or /machine/unattached/device[N], numbered in QEMU's creation order.
 */
public final class DeviceModel {
    /**
     * A realized device.
     *
     * @param hotplugged created by device_add while the machine ran (QEMU's DeviceState.hotplugged)
     */
    public record Device(String path, String type, String id, PropertyValues props, DeviceInstance instance,
            Bus bus, QomNode node, boolean hotplugged) {
    }

    private final TypeRegistry types;
    private final Map<String, DeviceClass> classes = new LinkedHashMap<>();
    private final Globals globals;
    private final QomTree tree = new QomTree();
    private final QomNode machine;
    private final QomNode peripheral;
    private final QomNode peripheralAnon;
    private final QomNode unattached;
    private final List<Bus> buses = new ArrayList<>();
    /** Read by vCPU threads (an ejected slot's devices) while the main loop changes it. */
    private final List<Device> devices = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How many devices each bus has had plugged, for its child[N] links (QEMU numbers them in plug order). */
    private final Map<String, Integer> busChildren = new java.util.HashMap<>();
    private final QomService qom;
    /** Hotplug handlers by bus name (QEMU's BusState.hotplug_handler). */
    private final Map<String, HotplugHandler> busHandlers = new java.util.HashMap<>();
    /** Handlers the machine itself routes by device type (QEMU's pc_get_hotplug_handler: DIMMs, CPUs). */
    private final Map<String, HotplugHandler> typeHandlers = new LinkedHashMap<>();
    /** Devices device_del asked the guest for, until when a repeated request is refused (guest ms). */
    private final Map<String, Long> pendingUnplug = new java.util.HashMap<>();
    private boolean machineReady;
    private DeviceContext ctx;
    private int anonymous;
    private int unattachedCount;

    public DeviceModel(TypeRegistry types, Collection<DeviceClass> classes, Globals globals, String machineType) {
        this.types = types;
        this.globals = globals;
        for (DeviceClass c : classes) {
            this.classes.put(c.type().name(), c);
            for (String a : c.aliases()) {
                this.classes.put(a, c);
            }
        }
        machine = tree.root().addChild("machine", machineType);
        tree.root().addChild("chardevs", "container");
        tree.root().addChild("objects", "container");
        unattached = machine.addChild("unattached", "container");
        peripheral = machine.addChild("peripheral", "container");
        peripheralAnon = machine.addChild("peripheral-anon", "container");
        // QEMU's main-system-bus, where the sysbus devices (the PCI host bridge) hang; QEMU never realizes it
        buses.add(busNode(new Bus("main-system-bus", "System", unattached.addChild("sysbus", "System"), null),
                false));
        qom = new QomService(types, tree);
    }

    /** The QOM commands' view of this model: the tree and the types. */
    public QomService qom() {
        return qom;
    }

    /** The board's services; set once before the first device is created. */
    public void bind(DeviceContext context) {
        this.ctx = context;
    }

    public TypeRegistry types() {
        return types;
    }

    public QomTree tree() {
        return tree;
    }

    public QomNode machineNode() {
        return machine;
    }

    public Globals globals() {
        return globals;
    }

    public List<Device> devices() {
        return List.copyOf(devices);
    }

    // ---- buses

    /** Registers a bus provided by a device (or the board) under its parent node. */
    public Bus addBus(QomNode parent, String name, String type, Object owner) {
        Bus b = busNode(new Bus(name, type, parent.addChild(name, type), owner), true);
        buses.add(b);
        return b;
    }

    /** A bus's own QOM properties; its hotplug-handler link is empty until the board names one. */
    private static Bus busNode(Bus b, boolean realized) {
        b.node().addConstant("realized", "bool", realized);
        b.node().addLink("hotplug-handler", "hotplug-handler", () -> "");
        return b;
    }

    /**
     * A device QEMU plugs into the bus at this point and jvmm does not model: it takes its child[N] number
     * on the bus, so later devices keep QEMU's numbers.
     */
    public void skipBusChild(String busName) {
        busChildren.merge(busName, 1, Integer::sum);
    }

    public Optional<Bus> bus(String name) {
        return buses.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    /** The first bus of a type, as qdev picks a default bus. */
    private Optional<Bus> firstBus(String type) {
        return buses.stream().filter(b -> types.isA(b.type(), type)).findFirst();
    }

    // ---- creation

    /** -device with QemuOpts text; errors carry the option. */
    public Device add(QemuOpts d) {
        String driver = d.get("driver").orElse("");
        Map<String, String> args = new LinkedHashMap<>(d.values());
        args.remove("driver");
        try {
            return create(driver, args);
        } catch (PropertyException e) {
            throw new OptionException(d.option(), e.getMessage());
        }
    }

    private Device create(String driver, Map<String, String> args) throws PropertyException {
        return create(driver, new LinkedHashMap<>(args), false);
    }

    /**
     * Creates a device from keyval text (String values) or JSON members (any other value, as QEMU's
     * device_add and JSON -device take them).
     */
    private Device create(String driver, Map<String, ?> args0, boolean json) throws PropertyException {
        Map<String, Object> args = new LinkedHashMap<>(args0);
        DeviceClass cls = classes.get(driver);
        TypeInfo t = cls != null ? cls.type() : types.lookup(driver).orElse(null);
        if (t == null || !types.isA(t.name(), "device")) {
            throw new PropertyException("'" + driver + "' is not a valid device model name");
        }
        if (t.isAbstract()) {
            throw new PropertyException("Parameter 'driver' expects a non-abstract device type");
        }
        boolean hot = machineReady;
        // QEMU's qdev_get_device_class: once the machine runs, cold-plug-only types are not pluggable either
        if (!t.userCreatable() || (hot && !hotpluggableType(t))) {
            throw new PropertyException("Parameter 'driver' expects a pluggable device type");
        }
        Object busArg = args.remove("bus");
        if (busArg != null && !(busArg instanceof String)) {
            throw new PropertyException("Invalid parameter type for 'bus', expected: string");
        }
        Bus bus = chooseBus(t, (String) busArg);
        HotplugHandler handler = handlerFor(t, bus);
        if (hot && bus != null && !busHandlers.containsKey(bus.name())) {
            throw new PropertyException("Bus '" + bus.name() + "' does not support hotplugging");
        }
        if (hot && bus == null && handler == null) {
            throw new PropertyException("Device '" + t.name() + "' does not support hotplugging");
        }
        if (cls == null || cls.factory() == null) {
            // QEMU's virtio backends plug into their proxy's virtio-bus, which no -device can name here
            throw new PropertyException("jvmm cannot create a '" + driver + "' with -device");
        }
        Object idArg = args.remove("id");
        if (idArg != null && !(idArg instanceof String)) {
            throw new PropertyException("Invalid parameter type for 'id', expected: string");
        }
        String id = (String) idArg;
        if (id != null && !isIdentifier(id)) {
            throw new PropertyException("Parameter 'id' expects an identifier\n"
                    + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }
        if (id != null && peripheral.child(id).isPresent()) {
            // -device's QemuOpts refuse the id first; device_add and JSON -device meet qdev_set_id's check
            throw new PropertyException(json ? "Duplicate device ID '" + id + "'"
                    : "Duplicate ID '" + id + "' for device");
        }
        PropertyValues.Builder b = types.values(t.name()).globals(globals);
        for (Map.Entry<String, Object> e : args.entrySet()) {
            String text = optionText(e.getValue());
            if (text != null) {
                b.keyval(e.getKey(), text);
            }
        }
        PropertyValues props = b.build();
        // QEMU names an anonymous device before it realizes it: a refusal from the hotplug handler's pre-plug
        // or from the realize still uses up the number
        String anonName = id == null ? "device[" + anonymous++ + "]" : null;
        if (handler != null) {
            handler.prePlug(t, props, hot);
        }
        QomNode node = id != null ? peripheral.addChild(id, t.name())
                : peripheralAnon.addChild(anonName, t.name());
        Device d = realize(cls, props, id, node, bus, hot);
        if (handler != null) {
            try {
                handler.plug(d, hot);
            } catch (PropertyException | RuntimeException e) {
                remove(d, false);
                throw e;
            }
        }
        return d;
    }

    // ---- hotplug (QEMU's qdev_device_add after machine init, qdev_unplug, device_finalize's event)

    /**
     * From now on a created device is hot-plugged (QEMU's phase PHASE_MACHINE_READY): device_add after the
     * machine was built.
     */
    public void machineReady() {
        machineReady = true;
    }

    /** Names the hotplug handler of a bus (the PIIX4 PM for pci.0 under ACPI PCI hotplug). */
    public void setBusHotplugHandler(String busName, HotplugHandler h, String handlerPath) {
        busHandlers.put(busName, h);
        bus(busName).ifPresent(b -> b.node().setGetter("hotplug-handler", () -> handlerPath));
    }

    /** Routes devices of a type (and its subtypes) to a handler of the machine's, ahead of their bus's. */
    public void setTypeHotplugHandler(String type, HotplugHandler h) {
        typeHandlers.put(type, h);
    }

    /** QEMU's qdev_get_hotplug_handler: the machine's for the types it claims, else the bus's. */
    private HotplugHandler handlerFor(TypeInfo t, Bus bus) {
        for (Map.Entry<String, HotplugHandler> e : typeHandlers.entrySet()) {
            if (types.isA(t.name(), e.getKey())) {
                return e.getValue();
            }
        }
        return bus == null ? null : busHandlers.get(bus.name());
    }

    /** Whether the device's type may be hot-unplugged (QEMU's DeviceClass.hotpluggable). */
    public boolean hotpluggable(Device d) {
        return types.lookup(d.type()).map(this::hotpluggableType).orElse(false);
    }

    /** Whether no ancestor declares the type cold-plug only (QEMU's DeviceClass.hotpluggable = false). */
    private boolean hotpluggableType(TypeInfo t) {
        return types.ancestry(t.name()).stream().allMatch(TypeInfo::hotpluggable);
    }

    /** device_add: the QMP members as JSON values. */
    public Device hotplug(Map<String, Object> args) throws PropertyException {
        Object driver = args.get("driver");
        Map<String, Object> rest = new LinkedHashMap<>(args);
        rest.remove("driver");
        return create(driver instanceof String s ? s : "", rest, true);
    }

    /** The device with this id at /machine/peripheral, for device_del. */
    public Optional<Device> byId(String id) {
        return devices.stream().filter(d -> id.equals(d.id()) && d.path().startsWith("/machine/peripheral/"))
                .findFirst();
    }

    /**
     * device_del (QEMU's qmp_device_del and qdev_unplug): hands the request to the device's hotplug handler,
     * which asks the guest; a device without one cannot be unplugged. The caller finds the device
     * ({@link #byId}; QMP's DeviceNotFound when there is none).
     *
     * @param nowMs the guest clock now, against which a pending request's expiry is compared
     */
    public void requestUnplug(Device d, long nowMs) throws PropertyException {
        String id = d.id();
        Long until = pendingUnplug.get(d.path());
        if (until != null && (until == 0 || until > nowMs)) {
            throw new PropertyException("Device " + id + " is already in the process of unplug");
        }
        TypeInfo t = types.lookup(d.type()).orElseThrow();
        if (d.bus() != null && !busHandlers.containsKey(d.bus().name())) {
            throw new PropertyException("Bus '" + d.bus().name() + "' does not support hotplugging");
        }
        HotplugHandler h = handlerFor(t, d.bus());
        if (h == null || !hotpluggableType(t)) {
            throw new PropertyException("Device '" + d.type() + "' does not support hotplugging");
        }
        h.unplugRequest(d);
    }

    /**
     * Marks a device as asked for until the given guest time (0: for good), as QEMU's
     * pending_deleted_event and pending_deleted_expires_ms: a second device_del before then is refused.
     */
    public void markUnplugPending(Device d, long untilMs) {
        pendingUnplug.put(d.path(), untilMs);
    }

    /**
     * Removes a device the guest released (QEMU's object_unparent of it): the devices on its buses first,
     * then it; each one is closed, loses its node, and sends DEVICE_DELETED once it is gone, its children
     * (a virtio proxy's backend) before it.
     */
    public void unplug(Device d) {
        remove(d, true);
    }

    private void remove(Device d, boolean announce) {
        if (!devices.contains(d)) {
            return;
        }
        // devices plugged into buses this device provides go first, the last plugged first
        for (int i = devices.size() - 1; i >= 0; i--) {
            Device c = devices.get(i);
            if (c != d && c.bus() != null && c.bus().node().path().startsWith(d.path() + "/")) {
                remove(c, announce);
            }
        }
        devices.remove(d);
        pendingUnplug.remove(d.path());
        try {
            if (announce) {
                d.instance().unplug();
            } else {
                d.instance().close();
            }
        } catch (RuntimeException e) {
            // the device is gone from the guest either way; what it held is released as far as it could be
        }
        List<String> childDevices = new ArrayList<>();
        collectDeviceChildren(d.node(), childDevices);
        buses.removeIf(b -> b.node().path().startsWith(d.path() + "/"));
        if (d.bus() != null) {
            d.bus().node().removeLinksTo(d.path());
        }
        d.node().parent().ifPresent(p -> p.removeChild(d.node().name()));
        if (announce && ctx != null) {
            for (String path : childDevices) {
                ctx.events().publish(new VmEvent.DeviceDeleted(null, path));
            }
            ctx.events().publish(new VmEvent.DeviceDeleted(d.id(), d.path()));
        }
    }

    /** The realized device objects below a node (a proxy's virtio-backend), deepest first. */
    private void collectDeviceChildren(QomNode node, List<String> out) {
        for (QomNode c : node.children()) {
            collectDeviceChildren(c, out);
            if (types.lookup(c.type()).isPresent() && types.isA(c.type(), "device")) {
                out.add(c.path());
            }
        }
    }

    /**
     * A device_add member as QEMU 7.2's qemu_opts_from_qdict turns it into option text: strings as they are,
     * numbers in decimal, booleans on/off; objects and arrays are dropped.
     */
    private static String optionText(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Boolean b) {
            return b ? "on" : "off";
        }
        if (v instanceof Number n) {
            return n.toString();
        }
        return null;
    }

    /** QEMU's id_wellformed: a letter, then letters, digits, '-', '.' or '_'. */
    private static boolean isIdentifier(String id) {
        if (id.isEmpty() || !Character.isLetter(id.charAt(0)) || id.charAt(0) > 0x7f) {
            return false;
        }
        for (int i = 1; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c > 0x7f || !(Character.isLetterOrDigit(c) || c == '-' || c == '.' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /**
     * A device the board or a legacy option makes (no id): /machine/unattached/device[N]. Its properties
     * are the defaults with -global applied, then the given values.
     */
    public Device addUnattached(String type, Map<String, String> values) {
        return addBoardDevice(unattached, null, type, values, null);
    }

    /**
     * A device the board plugs into a bus it names, as QEMU's qdev_realize(dev, bus) (the IDE units of the
     * if=ide drives); a null bus name takes the type's default bus.
     */
    public Device addUnattached(String type, Map<String, String> values, String busName) {
        return addBoardDevice(unattached, null, type, values, busName);
    }

    /**
     * A board device QEMU places under a parent of its own choosing, with a fixed name (the host bridge at
     * /machine/i440fx), made as {@link #addUnattached} makes its devices.
     */
    public Device addChild(QomNode parent, String name, String type, Map<String, String> values) {
        return addBoardDevice(parent, name, type, values, null);
    }

    private Device addBoardDevice(QomNode parent, String name, String type, Map<String, String> values,
            String busName) {
        DeviceClass cls = classes.get(type);
        try {
            PropertyValues.Builder b = types.values(type).globals(globals);
            for (Map.Entry<String, String> e : values.entrySet()) {
                b.keyval(e.getKey(), e.getValue());
            }
            PropertyValues props = b.build();
            Bus bus = busName != null ? chooseBus(cls.type(), busName)
                    : Optional.ofNullable(busType(cls.type())).flatMap(this::firstBus).orElse(null);
            QomNode node = parent.addChild(name != null ? name : "device[" + unattachedCount++ + "]", type);
            Device d = realize(cls, props, null, node, bus, false);
            HotplugHandler handler = handlerFor(cls.type(), bus);
            if (handler != null) {
                handler.plug(d, false);
            }
            return d;
        } catch (PropertyException e) {
            throw new OptionException(null, e.getMessage());
        }
    }

    /** How many /machine/unattached/device[N] numbers are taken. */
    public int unattachedCount() {
        return unattachedCount;
    }

    /**
     * The node of an object that takes an unattached number but is not realized here (a vCPU, whose own
     * code adds its properties): /machine/unattached/device[N] of the given type.
     */
    public QomNode addUnattachedNode(String type) {
        return unattached.addChild("device[" + unattachedCount++ + "]", type);
    }

    /**
     * A device QEMU creates at this point of the board's construction and jvmm does not model (hpet,
     * i8257, ...): it takes its unattached number, so later devices keep QEMU's paths, and has no node.
     *
     * @return the number it took
     */
    public int skipUnattached() {
        return unattachedCount++;
    }

    /** The number the next unattached device gets. */
    public int nextUnattached() {
        return unattachedCount;
    }

    /** The board's services the devices are realized with. */
    public DeviceContext context() {
        return ctx;
    }

    private Device realize(DeviceClass cls, PropertyValues props, String id, QomNode node, Bus bus,
            boolean hotplugged) throws PropertyException {
        describe(node, props, bus, id, hotplugged);
        DeviceInstance inst;
        try {
            inst = cls.factory().realize(ctx, props, new Placement(id, node, bus, this));
        } catch (PropertyException | RuntimeException e) {
            node.parent().ifPresent(p -> p.removeChild(node.name()));
            throw e;
        }
        if (bus != null && bus.owner() instanceof dev.jvmm.devices.pci.PciBus pci
                && node.get("addr") instanceof Long devfn && devfn >= 0) {
            pci.setOwner(devfn.intValue(), cls.type().name(), id);
        }
        if (bus != null) {
            int n = busChildren.merge(bus.name(), 1, Integer::sum) - 1;
            bus.node().addLink("child[" + n + "]", node.type(), node::path);
        }
        Device d = new Device(node.path(), cls.type().name(), id, props, inst, bus, node, hotplugged);
        devices.add(d);
        return d;
    }

    /** Bus types with a hotplug handler on a pc machine: their devices are hotpluggable, as QEMU reports. */
    private static final Set<String> HOTPLUG_BUSES = Set.of("PCI", "virtio-serial-bus");

    /**
     * Gives a device's node its qom-list view: every declared property in declaration order, the qdev ones
     * read from the settled values and refused after realize in QEMU's words (a proxy's aliased ones name its
     * anonymous backend, where QEMU's alias sends the set), QOM-only ones left unreadable until the factory
     * makes them live with {@link QomNode#addProperty}; children are the factory's to add.
     *
     * @param id the device's id, or null (QEMU then says "anonymous device")
     */
    public void describe(QomNode node, PropertyValues props, Bus bus, String id) {
        describe(node, props, bus, id, false);
    }

    private void describe(QomNode node, PropertyValues props, Bus bus, String id, boolean hotplugged) {
        String type = node.type();
        String backend = types.ancestry(type).stream().map(TypeInfo::backend).filter(Objects::nonNull)
                .map(TypeInfo.Backend::type).findFirst().orElse(type);
        for (TypeRegistry.Resolved r : types.properties(type)) {
            String name = r.property().name();
            if (node.has(name)) {
                continue;
            }
            PropType pt = r.property().type();
            switch (name) {
                case "realized" -> node.addProperty(name, "bool", () -> true, v -> {
                    if (!(v instanceof Boolean b)) {
                        throw new PropertyException("Invalid parameter type for 'realized', expected: boolean");
                    }
                    if (!b) {
                        throw new PropertyException("jvmm cannot unrealize " + type);
                    }
                });
                case "hotplugged" -> node.addConstant(name, "bool", hotplugged);
                // QEMU's device_get_hotpluggable: a user-creatable device on a bus with a hotplug handler
                case "hotpluggable" -> node.addConstant(name, "bool", bus != null
                        && HOTPLUG_BUSES.stream().anyMatch(h -> types.isA(bus.type(), h))
                        && types.lookup(type).orElseThrow().userCreatable());
                case "parent_bus" -> node.addLink(name, "bus", () -> bus == null ? null : bus.node().path());
                // "SS.F" of the function's place, as QEMU's legacy pci-devfn view of addr prints it
                case "legacy-addr" -> node.addProperty(name, "str", () -> {
                    long devfn = node.get("addr") instanceof Long a ? a : -1;
                    return devfn < 0 ? "" : String.format("%02x.%x", devfn >> 3, devfn & 7);
                }, null);
                default -> {
                    if (r.property().settable()) {
                        String owner = types.isA(type, r.owner()) ? type : backend;
                        String device = id == null || !owner.equals(type) ? "anonymous device"
                                : "device '" + id + "'";
                        node.addProperty(name, pt.qapiType(), () -> props.get(name).map(pt::toJson)
                                .orElse(pt.kind() == PropType.Kind.STR ? "" : null), v -> {
                                    throw new PropertyException("Attempt to set property '" + name + "' on "
                                            + device + " (type '" + owner + "') after it was realized");
                                });
                    } else if (!pt.qapiType().startsWith("child<")) {
                        node.addProperty(name, pt.qapiType(), null, null);
                    }
                }
            }
        }
    }

    private Bus chooseBus(TypeInfo t, String busName) throws PropertyException {
        if (busName != null) {
            Bus b = bus(busName).orElseThrow(() -> new PropertyException("Bus '" + busName + "' not found"));
            String want = busType(t);
            if (want == null || !types.isA(b.type(), want)) {
                throw new PropertyException("Device '" + t.name() + "' can't go on " + b.type() + " bus");
            }
            return b;
        }
        String want = busType(t);
        if (want == null) {
            return null;
        }
        // QEMU's qbus_find_recursive meets the most recently created bus of the type first (ide.1, not ide.0)
        for (int i = buses.size() - 1; i >= 0; i--) {
            if (types.isA(buses.get(i).type(), want)) {
                return buses.get(i);
            }
        }
        throw new PropertyException("No '" + want + "' bus found for device '" + t.name() + "'");
    }

    private String busType(TypeInfo t) {
        for (TypeInfo a : types.ancestry(t.name())) {
            if (a.bus() != null) {
                return a.bus();
            }
        }
        return null;
    }

    // ---- machine-wide operations

    /** Machine reset, in creation order. */
    public void resetAll() {
        for (Device d : devices) {
            d.instance().reset();
        }
    }

    /** Closes every device, the last created first; one failing does not keep the others open. */
    public void closeAll() {
        for (int i = devices.size() - 1; i >= 0; i--) {
            try {
                devices.get(i).instance().close();
            } catch (RuntimeException e) {
                // closing goes on: the others still hold threads and images
            }
        }
    }

    /** The saveable parts, keyed by QOM path, in creation order. */
    public List<MachineState.Part> stateParts() {
        List<MachineState.Part> out = new ArrayList<>();
        for (Device d : devices) {
            d.instance().state().ifPresent(s -> out.add(new MachineState.Part(d.path(), d.type(), s)));
        }
        return out;
    }
}
