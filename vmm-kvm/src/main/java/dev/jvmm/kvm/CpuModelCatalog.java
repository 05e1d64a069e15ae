package dev.jvmm.kvm;

import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.QomTree;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU models over this host's KVM, as QEMU 7.2's x86 query-cpu-definitions and query-cpu-model-expansion
 * give them: each model resolved as -cpu resolves it (the same {@link CpuResolver}), so what KVM filters out
 * is what a guest would miss, and an expansion holds what a vCPU of that model would hold.
 */
public final class CpuModelCatalog implements CpuModelControl {
    /** The identity and level properties QEMU's static expansion lists besides the feature flags. */
    private static final List<String> STATIC_SCALARS = List.of("family", "model", "stepping", "model-id", "vendor",
            "lmce", "min-level", "min-xlevel");
    /** What realize fills in from the host, which an expanded (never realized) CPU object holds unset. */
    private static final Map<String, Object> UNREALIZED = Map.of("realized", false, "phys-bits", 0L, "ucode-rev", 0L,
            "hv-vendor-id", "", "tsc-frequency", 0L);
    /** The topology ids of a CPU object that no board has placed. */
    private static final Map<String, Object> UNPLACED = Map.of("apic-id", 0xffff_ffffL, "node-id", -1L,
            "socket-id", -1L, "die-id", -1L, "core-id", -1L, "thread-id", -1L);
    private static final CpuTopology ONE = CpuTopology.single();

    private final HostCpu host;
    private final CpuTable table = CpuModel.table();
    private List<Definition> definitions;

    public CpuModelCatalog(HostCpu host) {
        this.host = host;
    }

    @Override
    public synchronized List<Definition> definitions() {
        if (definitions == null) {
            List<Definition> out = new ArrayList<>();
            for (String name : table.modelNames()) {
                CpuDefinition d = table.model(name);
                List<String> unavailable = List.of();
                if (!d.hostDerived()) {
                    try {
                        unavailable = VcpuQom.unavailable(table, CpuModel.parse(name, host, ONE).filtered());
                    } catch (IllegalArgumentException e) {
                        // a model this host cannot resolve at all stays listed, as QEMU lists every class
                    }
                }
                boolean isBase = name.equals("base");
                out.add(new Definition(name, CpuTypes.typeName(name), unavailable, isBase, !d.hostDerived(), false,
                        table.aliasOf(name)));
            }
            definitions = List.copyOf(out);
        }
        return definitions;
    }

    @Override
    public Expansion expand(boolean full, String name, Map<String, Object> props) throws MachineCommandException {
        CpuDefinition d = table.model(name);
        if (d == null) {
            throw MachineCommandException.generic("CPU model '" + name + "' not found");
        }
        StringBuilder spec = new StringBuilder(name);
        boolean passthrough = false;
        for (Map.Entry<String, Object> e : props.entrySet()) {
            String key = e.getKey();
            if (CpuTypes.property(key, d.hostDerived()).isEmpty()) {
                throw MachineCommandException.generic("Property '" + CpuTypes.typeName(name) + "." + key
                        + "' not found");
            }
            if (key.equals("hv-passthrough")) {
                // every enlightenment KVM offers: jvmm offers none, so it adds nothing
                passthrough = Boolean.TRUE.equals(e.getValue());
                continue;
            }
            spec.append(',').append(key).append('=').append(text(e.getValue()));
        }
        CpuModel model;
        try {
            model = CpuModel.parse(spec.toString(), host, ONE);
        } catch (IllegalArgumentException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        if (!full) {
            for (String f : table.featureNames()) {
                out.put(f, requested(model, f));
            }
            for (String s : STATIC_SCALARS) {
                out.put(s, model.propertyValues().getOrDefault(s,
                        CpuTypes.property(s, false).map(p -> p.defaultValue()).orElse(null)));
            }
            return new Expansion("base", out);
        }
        QomNode node = new QomTree().root().addChild("cpu", CpuTypes.typeName(name));
        VcpuQom.describe(node, model, 0, ONE);
        for (Map.Entry<String, String> p : node.list()) {
            String key = p.getKey();
            if (key.equals("type") || p.getValue().startsWith("child<") || p.getValue().startsWith("link<")) {
                continue;
            }
            try {
                Object v = node.get(key);
                if (v instanceof Boolean || v instanceof Number || v instanceof String) {
                    out.put(key, v);
                }
            } catch (PropertyException e) {
                // unreadable before realize (legacy-memory, crash-information): QEMU leaves them out too
            }
        }
        out.remove("hotplugged");
        out.remove("hotpluggable");
        for (Map.Entry<String, Object> e : out.entrySet()) {
            if (table.feature(e.getKey()) != null) {
                e.setValue(requested(model, e.getKey()));
            }
        }
        UNREALIZED.forEach((k, v) -> out.put(k, props.containsKey(k) ? out.get(k) : v));
        out.putAll(UNPLACED);
        if (passthrough) {
            out.put("hv-passthrough", true);
        }
        return new Expansion(name, out);
    }

    /**
     * Whether the model asks for the feature: an expansion shows the CPU object before realize, so before
     * KVM's filter, whose losses query-cpu-definitions lists instead.
     */
    private boolean requested(CpuModel model, String feature) {
        long[] on = model.identity().features();
        long[] filtered = model.filtered();
        for (CpuTable.Bit b : table.feature(feature)) {
            if (((on[b.word()] | filtered[b.word()]) & (1L << b.bit())) == 0) {
                return false;
            }
        }
        return true;
    }

    /** A QMP value as -cpu's key=value text (commas doubled, as QemuOpts reads them). */
    private static String text(Object v) {
        if (v instanceof Boolean b) {
            return b ? "on" : "off";
        }
        return String.valueOf(v).replace(",", ",,");
    }
}
