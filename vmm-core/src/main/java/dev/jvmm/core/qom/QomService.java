package dev.jvmm.core.qom;

import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.QomControl;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.QomProperty;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What QMP and the command line ask of the object model, with QEMU 7.2's replies and errors: qom-list,
 * qom-get, qom-set, qom-list-types, qom-list-properties, device-list-properties, and the -device help texts.
 */
public final class QomService implements QomControl {
    /** One ObjectPropertyInfo: name, type, and for device-list-properties the description and default. */
    public record PropertyInfo(String name, String type, String description, Object defaultValue) {
    }

    private final TypeRegistry types;
    private final QomTree tree;

    public QomService(TypeRegistry types, QomTree tree) {
        this.types = types;
        this.tree = tree;
    }

    public TypeRegistry types() {
        return types;
    }

    @Override
    public Optional<QomObject> resolve(String path) {
        return tree.resolve(path).map(QomObject::of);
    }

    private QomNode node(String path) throws MachineCommandException {
        return tree.resolve(path).orElseThrow(() -> new MachineCommandException(
                MachineCommandException.DEVICE_NOT_FOUND, "Device '" + path + "' not found"));
    }

    public List<QomProperty> list(String path) throws MachineCommandException {
        List<QomProperty> out = new ArrayList<>();
        for (Map.Entry<String, String> e : node(path).list()) {
            out.add(new QomProperty(e.getKey(), e.getValue()));
        }
        return out;
    }

    public Object get(String path, String property) throws MachineCommandException {
        try {
            return node(path).get(property);
        } catch (PropertyException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    public void set(String path, String property, Object value) throws MachineCommandException {
        try {
            node(path).set(property, value);
        } catch (PropertyException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    /** qom-list-types; an unknown implements= type lists nothing, as in QEMU. */
    @Override
    public List<TypeInfo> listTypes(String implementsType, boolean includeAbstract) {
        return types.list(implementsType, includeAbstract);
    }

    /** device-list-properties: the properties -device can see, with descriptions and defaults. */
    @Override
    public List<PropertyInfo> deviceListProperties(String typename) throws MachineCommandException {
        TypeInfo t = types.lookup(typename).orElseThrow(() -> new MachineCommandException(
                MachineCommandException.DEVICE_NOT_FOUND, "Device '" + typename + "' not found"));
        if (t.isAbstract() || !types.isA(typename, "device")) {
            throw MachineCommandException.generic("Parameter 'typename' expects a non-abstract device type");
        }
        List<PropertyInfo> out = new ArrayList<>();
        for (TypeRegistry.Resolved r : types.properties(typename)) {
            Property p = r.property();
            if (TypeRegistry.DEVICE_INTERNAL.contains(p.name()) || p.name().startsWith("legacy-")) {
                continue;
            }
            out.add(new PropertyInfo(p.name(), p.type().qapiType(), p.description(),
                    p.defaultValue() == null ? null : p.type().toJson(p.defaultValue())));
        }
        return out;
    }

    /** qom-list-properties: every property of the type, names and types. */
    @Override
    public List<PropertyInfo> qomListProperties(String typename) throws MachineCommandException {
        if (types.lookup(typename).isEmpty()) {
            throw new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                    "Class '" + typename + "' not found");
        }
        if (types.ancestry(typename).stream().anyMatch(t -> t.name().equals("interface"))) {
            throw MachineCommandException.generic("Parameter 'typename' expects a QOM type");
        }
        List<PropertyInfo> out = new ArrayList<>();
        out.add(new PropertyInfo("type", "string", null, null));
        for (TypeRegistry.Resolved r : types.properties(typename)) {
            out.add(new PropertyInfo(r.property().name(), r.property().type().qapiType(), null, null));
        }
        return out;
    }

    /** -device TYPE,help: "TYPE options:" then a line per property, the lines sorted as QEMU sorts them. */
    public String deviceHelp(String typename) throws MachineCommandException {
        List<PropertyInfo> props = deviceListProperties(typename);
        if (props.isEmpty()) {
            return "There are no options for " + typename + ".\n";
        }
        List<String> lines = new ArrayList<>();
        for (PropertyInfo p : props) {
            StringBuilder sb = new StringBuilder();
            String head = "  " + p.name() + "=<" + p.type() + ">";
            sb.append(head);
            if (p.description() != null || p.defaultValue() != null) {
                sb.append(" ".repeat(Math.max(0, 24 - head.length()))).append(" - ");
                if (p.description() != null) {
                    sb.append(p.description());
                }
                if (p.defaultValue() != null) {
                    Object d = p.defaultValue();
                    sb.append(" (default: ").append(d instanceof String s ? "\"" + s + "\"" : d).append(')');
                }
            }
            lines.add(sb.toString());
        }
        lines.sort(Comparator.naturalOrder());
        return typename + " options:\n" + String.join("\n", lines) + "\n";
    }

    /** The -device help sections, in QEMU's order. */
    private static final List<String> CATEGORIES = List.of("Controller/Bridge/Hub", "USB", "Storage", "Network",
            "Input", "Display", "Sound", "Misc", "CPU", "Watchdog", "Uncategorized");

    /** -device help: every user-creatable device type by section, sorted by name (case-insensitively) within each. */
    public String deviceList(Map<String, List<String>> aliases) {
        Map<String, TreeMap<String, TypeInfo>> bySection = new LinkedHashMap<>();
        for (String c : CATEGORIES) {
            bySection.put(c, new TreeMap<>(String.CASE_INSENSITIVE_ORDER));
        }
        for (TypeInfo t : types.all()) {
            if (t.userCreatable() && types.isA(t.name(), "device")) {
                String c = t.category() == null || !bySection.containsKey(t.category()) ? "Uncategorized"
                        : t.category();
                bySection.get(c).put(t.name(), t);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, TreeMap<String, TypeInfo>> e : bySection.entrySet()) {
            // every section is printed, an empty one too: it says jvmm has no such devices
            if (sb.length() > 0) {
                sb.append('\n');
            }
            sb.append(e.getKey()).append(" devices:\n");
            for (TypeInfo t : e.getValue().values()) {
                sb.append("name \"").append(t.name()).append('"');
                String bus = busOf(t);
                if (bus != null) {
                    sb.append(", bus ").append(bus);
                }
                for (String a : aliases.getOrDefault(t.name(), List.of())) {
                    sb.append(", alias \"").append(a).append('"');
                }
                if (t.description() != null) {
                    sb.append(", desc \"").append(t.description()).append('"');
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private String busOf(TypeInfo t) {
        for (TypeInfo a : types.ancestry(t.name())) {
            if (a.bus() != null) {
                return a.bus();
            }
        }
        return null;
    }
}
