package dev.jvmm.kvm;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.QomTree;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A vCPU's QOM properties against QEMU 7.2's qom-list and qom-get on the same host (CpuModelTest's fake()). */
class VcpuQomTest {
    /** What the board, not the CPU model, supplies: the system memory link and KVM's TSC rate. */
    private static final Set<String> BOARD = Set.of("memory", "tsc-frequency");

    private static final CpuTopology SMP = new CpuTopology(2, 2, 2);

    private static QomNode vcpu(String spec, int index) {
        CpuModel model = CpuModel.parse(spec, CpuModelTest.fake(), SMP);
        QomNode node = new QomTree().root().addChild("machine", "pc-i440fx-7.2-machine")
                .addChild("unattached", "container").addChild("device[" + index + "]", model.typeName());
        VcpuQom.describe(node, model, index, SMP);
        return node;
    }

    /** name: "type = value" (or "type ! error"), numbers compared by value. */
    private static Map<String, String> view(QomNode node) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, String> e : node.list()) {
            if (BOARD.contains(e.getKey())) {
                continue;
            }
            String v;
            try {
                v = "= " + normalize(node.get(e.getKey()));
            } catch (PropertyException x) {
                v = "! " + x.getMessage();
            }
            out.put(e.getKey(), e.getValue() + " " + v);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> qemu(String cpu) {
        Map<String, Object> file = (Map<String, Object>) TestJson.resource("qemu64-vcpu-qom-get.json");
        Map<String, String> out = new TreeMap<>();
        ((Map<String, Map<String, Object>>) file.get(cpu)).forEach((name, p) -> {
            if (!BOARD.contains(name)) {
                out.put(name, p.get("type") + " " + (p.containsKey("error") ? "! " + p.get("error")
                        : "= " + normalize(p.get("value"))));
            }
        });
        return out;
    }

    private static String normalize(Object v) {
        if (v instanceof Long l) {
            return new BigInteger(Long.toString(l)).toString();
        }
        if (v instanceof List<?> l) {
            return l.stream().map(VcpuQomTest::normalize).toList().toString();
        }
        if (v instanceof Map<?, ?> m) {
            TreeMap<String, String> t = new TreeMap<>();
            m.forEach((k, x) -> t.put((String) k, normalize(x)));
            return t.toString();
        }
        return String.valueOf(v);
    }

    @Test
    void firstVcpuAnswersAsQemus() {
        assertEquals(qemu("cpu0"), view(vcpu("qemu64", 0)));
    }

    @Test
    void sixthVcpuHasItsTopologyIds() {
        assertEquals(qemu("cpu5"), view(vcpu("qemu64", 5)));
    }

    @Test
    @SuppressWarnings("unchecked")
    void featureWordsKeepQemusOrderAndShape() throws PropertyException {
        List<Map<String, Object>> words = (List<Map<String, Object>>) vcpu("qemu64", 0).get("feature-words");
        assertEquals(24, words.size());
        assertEquals(List.of("cpuid-register", "cpuid-input-ecx", "cpuid-input-eax", "features"),
                List.copyOf(words.get(0).keySet()));
        // Leaf 1 EDX last, without cpuid-input-ecx; the value is QEMU's reply for -cpu qemu64 on this host.
        assertEquals(Map.of("cpuid-register", "EDX", "cpuid-input-eax", 1L, "features", 126614525L), words.get(23));
    }

    @Test
    void typeFollowsTheCpuModelName() throws PropertyException {
        CpuModel m = CpuModel.parse("Skylake-Client-IBRS", CpuModelTest.fake(), CpuTopology.single());
        assertEquals("Skylake-Client-IBRS-x86_64-cpu", m.typeName());
        assertEquals("host-x86_64-cpu", CpuModel.parse("host", CpuModelTest.fake(), SMP).typeName());
        QomNode n = vcpu("qemu64,level=7,+sse3,hv-vendor-id=jvmm", 0);
        assertEquals(7L, n.get("level"));
        assertEquals(13L, n.get("min-level"));
        assertEquals("jvmm", n.get("hv-vendor-id"));
        assertEquals(List.of("pni"), n.get("unavailable-features"));
        assertThrows(PropertyException.class, () -> n.get("tsc-frequency"));
        // The EPYC models carry cache descriptors of their own: QEMU turns legacy-cache off for them.
        assertEquals(false, vcpu("EPYC-Rome", 0).get("legacy-cache"));
        assertEquals(true, vcpu("EPYC-Rome,legacy-cache=on", 0).get("legacy-cache"));
    }

    @Test
    void hostVcpuHasMaxsPropertiesAndEveryBoolAnswers() throws PropertyException {
        QomNode n = vcpu("host,migratable=off", 3);
        assertEquals("host-x86_64-cpu", n.type());
        assertEquals(false, n.get("migratable"));
        assertEquals(false, n.get("host-cache-info"));
        assertEquals(true, n.get("pmu"));
        assertEquals(true, n.get("sse2"));
        assertEquals(3L, n.get("apic-id"));
        // libvirt reads each bool property qom-list shows, one qom-get each.
        for (Map.Entry<String, String> e : n.list()) {
            if (e.getValue().equals("bool")) {
                assertEquals(Boolean.class, n.get(e.getKey()).getClass(), e.getKey());
            }
        }
    }
}
