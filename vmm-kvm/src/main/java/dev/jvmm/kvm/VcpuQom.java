package dev.jvmm.kvm;

import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A vCPU's object in the QOM tree ("/machine/unattached/device[N]" of type {@link CpuModel#typeName()}), with
 * the properties qom-list shows and the values qom-get answers on a realized QEMU 7.2 CPU: libvirt reads the
 * feature words, the feature flags one by one, unavailable-features and the topology ids from them.
 */
public final class VcpuQom {
    private VcpuQom() {
    }

    /**
     * Adds every property of the CPU's type to node, in declaration order: device state (realized, not
     * hotplugged), the feature flags and feature words of the resolved model, identity and levels, vCPU
     * index's APIC and topology ids, and the other settings as -cpu left them. "memory" reads "" here; the
     * board replaces it with node.addLink("memory", "memory-region", ...) where it has the system memory
     * object. "tsc-frequency" (KVM's TSC rate) is not added.
     */
    public static void describe(QomNode node, CpuModel model, int index, CpuTopology topology) {
        CpuTable table = model.cpuTable();
        boolean hostDerived = table.model(model.name()).hostDerived();
        String type = node.type();
        Map<String, Object> values = new LinkedHashMap<>(model.propertyValues());
        values.put("apic-id", Integer.toUnsignedLong(topology.apicId(index)));
        values.put("socket-id", (long) topology.socketOf(index));
        values.put("core-id", (long) topology.coreOf(index));
        values.put("thread-id", (long) topology.threadOf(index));
        values.put("die-id", 0L);
        values.put("start-powered-off", false);
        values.put("hv-apicv", values.getOrDefault("hv-avic", false));
        values.put("lbr_fmt", values.get("lbr-fmt"));

        node.addLink("parent_bus", "bus", () -> null);
        node.addConstant("realized", "bool", true);
        node.addConstant("hotplugged", "bool", false);
        node.addConstant("hotpluggable", "bool", true);
        for (Property p : CpuTypes.properties(hostDerived)) {
            String name = p.name();
            String qapi = p.type().qapiType();
            switch (name) {
                case "memory" -> node.addLink(name, "memory-region", () -> null);
                case "legacy-memory" -> node.addProperty(name, qapi, () -> {
                    throw new PropertyException("Property '" + type + "." + name + "' is not readable");
                }, null);
                case "crash-information" -> node.addProperty(name, qapi, () -> {
                    throw new PropertyException("No crash occurred");
                }, null);
                case "feature-words" -> node.addConstant(name, qapi, featureWords(table, model.identity().features()));
                case "filtered-features" -> node.addConstant(name, qapi, featureWords(table, model.filtered()));
                case "unavailable-features" -> node.addConstant(name, qapi, unavailable(table, model.filtered()));
                default -> {
                    Object v = table.feature(name) != null ? (Object) model.identity().has(table, name)
                            : values.containsKey(name) ? values.get(name) : p.defaultValue();
                    if (v != null) {
                        node.addConstant(name, qapi, p.type().toJson(v));
                    }
                }
            }
        }
    }

    /**
     * QEMU's X86CPUFeatureWordInfo list for the CPUID words (MSR words are left out), last word first as
     * QEMU builds it; cpuid-input-ecx only for words of a subleaf. Keys in the order QEMU's reply has them.
     */
    static List<Map<String, Object>> featureWords(CpuTable table, long[] bits) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<FeatureWord> words = table.words();
        for (int i = words.size() - 1; i >= 0; i--) {
            FeatureWord w = words.get(i);
            if (w.msr()) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cpuid-register", w.reg().name());
            if (w.subleaf() >= 0) {
                m.put("cpuid-input-ecx", (long) w.subleaf());
            }
            m.put("cpuid-input-eax", Integer.toUnsignedLong(w.leaf()));
            m.put("features", bits[w.index()]);
            out.add(m);
        }
        return out;
    }

    /** The names of the filtered bits, in word and bit order (QEMU's x86_cpu_list_feature_names). */
    static List<String> unavailable(CpuTable table, long[] filtered) {
        List<String> out = new ArrayList<>();
        for (FeatureWord w : table.words()) {
            for (int bit = 0; bit < 64; bit++) {
                String n = w.bitNames().get(bit);
                if ((filtered[w.index()] & (1L << bit)) != 0 && n != null) {
                    out.add(n);
                }
            }
        }
        return out;
    }
}
