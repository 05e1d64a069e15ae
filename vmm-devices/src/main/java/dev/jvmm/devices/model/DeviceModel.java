package dev.jvmm.devices.model;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
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
    /** A realized device. */
    public record Device(String path, String type, String id, PropertyValues props, DeviceInstance instance) {
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
    private final List<Device> devices = new ArrayList<>();
    /** How many devices each bus has had plugged, for its child[N] links (QEMU numbers them in plug order). */
    private final Map<String, Integer> busChildren = new java.util.HashMap<>();
    private final QomService qom;
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
        DeviceClass cls = classes.get(driver);
        TypeInfo t = cls != null ? cls.type() : types.lookup(driver).orElse(null);
        if (t == null || !types.isA(t.name(), "device")) {
            throw new PropertyException("'" + driver + "' is not a valid device model name");
        }
        if (t.isAbstract()) {
            throw new PropertyException("Parameter 'driver' expects a non-abstract device type");
        }
        if (!t.userCreatable()) {
            throw new PropertyException("Parameter 'driver' expects a pluggable device type");
        }
        Bus bus = chooseBus(t, args.remove("bus"));
        if (cls == null || cls.factory() == null) {
            // QEMU's virtio backends plug into their proxy's virtio-bus, which no -device can name here
            throw new PropertyException("jvmm cannot create a '" + driver + "' with -device");
        }
        String id = args.remove("id");
        if (id != null && !isIdentifier(id)) {
            throw new PropertyException("Parameter 'id' expects an identifier\n"
                    + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
        }
        if (id != null && peripheral.child(id).isPresent()) {
            throw new PropertyException("Duplicate ID '" + id + "' for device");
        }
        PropertyValues.Builder b = types.values(t.name()).globals(globals);
        for (Map.Entry<String, String> e : args.entrySet()) {
            b.keyval(e.getKey(), e.getValue());
        }
        PropertyValues props = b.build();
        QomNode node = id != null ? peripheral.addChild(id, t.name())
                : peripheralAnon.addChild("device[" + anonymous++ + "]", t.name());
        return realize(cls, props, id, node, bus);
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
            return realize(cls, props, null, node, bus);
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

    private Device realize(DeviceClass cls, PropertyValues props, String id, QomNode node, Bus bus)
            throws PropertyException {
        describe(node, props, bus, id);
        DeviceInstance inst;
        try {
            inst = cls.factory().realize(ctx, props, new Placement(id, node, bus, this));
        } catch (PropertyException | RuntimeException e) {
            node.parent().ifPresent(p -> p.removeChild(node.name()));
            throw e;
        }
        if (bus != null) {
            int n = busChildren.merge(bus.name(), 1, Integer::sum) - 1;
            bus.node().addLink("child[" + n + "]", node.type(), node::path);
        }
        Device d = new Device(node.path(), cls.type().name(), id, props, inst);
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
                case "hotplugged" -> node.addConstant(name, "bool", false);
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
