package dev.jvmm.qmp;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libvirt 9.0's capability probe against QEMU 7.2 and jvmm, both started with the probe's own command line:
 * the replies to the probe's commands agree in shape, and in value wherever jvmm has what QEMU has. What jvmm
 * lacks (types, machine types, TPM, most migration capabilities) may be missing, never different.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProbeSideBySideTest {
    private Path dir;
    private ProbeDaemon qemu;
    private ProbeDaemon jvmm;
    private QmpClient q;
    private QmpClient j;

    @BeforeAll
    void start() throws Exception {
        Assumptions.assumeTrue(QemuSideBySideTest.qemuAvailable(), "qemu-system-x86_64 or /dev/kvm missing");
        dir = Files.createTempDirectory("probe-sbs");
        qemu = ProbeDaemon.probe("qemu-system-x86_64", dir, "qemu");
        jvmm = ProbeDaemon.probe(ProbeDaemon.jvmm(), dir, "jvmm");
        q = qemu.connect();
        j = jvmm.connect();
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {q, j, qemu, jvmm}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private static String cmd(String name, String args) {
        return "{\"execute\":\"" + name + "\"" + (args == null ? "" : ",\"arguments\":" + args) + "}";
    }

    private Object ok(QmpClient c, String name, String args) throws IOException {
        Map<String, Object> r = c.command(cmd(name, args));
        assertTrue(r != null && r.containsKey("return"), name + " " + args + ": " + r);
        return r.get("return");
    }

    private static Map<?, ?> error(QmpClient c, String name) throws IOException {
        Map<String, Object> r = c.command(cmd(name, null));
        assertTrue(r != null && r.containsKey("error"), name + ": " + r);
        return (Map<?, ?>) r.get("error");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> byName(Object list, String key) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Object o : (List<Object>) list) {
            m.put((String) ((Map<String, Object>) o).get(key), o);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static List<List<Object>> namesAndTypes(Object props) {
        return ((List<Object>) props).stream().map(p -> (Map<String, Object>) p)
                .map(p -> List.of(p.get("name"), p.get("type"))).toList();
    }

    @Test
    void versionTargetAndKvm() throws Exception {
        Map<?, ?> qv = (Map<?, ?>) ok(q, "query-version", null);
        Map<?, ?> jv = (Map<?, ?>) ok(j, "query-version", null);
        assertEquals(qv.keySet(), jv.keySet());
        assertEquals(((Map<?, ?>) qv.get("qemu")).get("major"), ((Map<?, ?>) jv.get("qemu")).get("major"));
        assertEquals(((Map<?, ?>) qv.get("qemu")).get("minor"), ((Map<?, ?>) jv.get("qemu")).get("minor"));
        assertTrue(jv.get("package") instanceof String);
        assertEquals(ok(q, "query-target", null), ok(j, "query-target", null));
        assertEquals(ok(q, "query-kvm", null), ok(j, "query-kvm", null));
    }

    @Test
    void machinesJvmmRunsAreListedAsQemuListsThem() throws Exception {
        Map<String, Object> qm = byName(ok(q, "query-machines", null), "name");
        Map<String, Object> jm = byName(ok(j, "query-machines", null), "name");
        assertEquals(Set.of("pc-i440fx-7.2", "none"), jm.keySet());
        for (String n : jm.keySet()) {
            assertEquals(qm.get(n), jm.get(n), n);
        }
        // names and types: jvmm's qom-list-properties leaves out the descriptions QEMU's class properties carry
        assertEquals(namesAndTypes(ok(q, "qom-list-properties", "{\"typename\":\"none-machine\"}")),
                namesAndTypes(ok(j, "qom-list-properties", "{\"typename\":\"none-machine\"}")));
        assertEquals(error(q, "query-hotpluggable-cpus"), error(j, "query-hotpluggable-cpus"));
        assertEquals(ok(q, "query-cpus-fast", null), ok(j, "query-cpus-fast", null));
    }

    @Test
    @SuppressWarnings("unchecked")
    void cpuDefinitionsAgreeWithKvmFilteringAsQemus() throws Exception {
        Map<String, Object> qd = byName(ok(q, "query-cpu-definitions", null), "name");
        Map<String, Object> jd = byName(ok(j, "query-cpu-definitions", null), "name");
        assertEquals(qd.keySet(), jd.keySet());
        for (String n : qd.keySet()) {
            Map<String, Object> a = new HashMap<>((Map<String, Object>) qd.get(n));
            Map<String, Object> b = new HashMap<>((Map<String, Object>) jd.get(n));
            // QEMU repeats the features behind a missing XSAVE component; the set is what libvirt reads
            assertEquals(new HashSet<>((List<?>) a.remove("unavailable-features")),
                    new HashSet<>((List<?>) b.remove("unavailable-features")), n);
            assertEquals(a, b, n);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void cpuModelExpansionsAsQemu() throws Exception {
        for (String args : List.of("{\"type\":\"static\",\"model\":{\"name\":\"host\"}}",
                "{\"type\":\"static\",\"model\":{\"name\":\"host\",\"props\":{\"migratable\":false}}}",
                "{\"type\":\"full\",\"model\":{\"name\":\"host\",\"props\":{\"migratable\":false,"
                        + "\"hv-passthrough\":true}}}",
                "{\"type\":\"static\",\"model\":{\"name\":\"max\"}}",
                "{\"type\":\"full\",\"model\":{\"name\":\"qemu64\",\"props\":{\"x2apic\":false}}}")) {
            Map<String, Object> qm = (Map<String, Object>) ((Map<?, ?>) ok(q, "query-cpu-model-expansion", args))
                    .get("model");
            Map<String, Object> jm = (Map<String, Object>) ((Map<?, ?>) ok(j, "query-cpu-model-expansion", args))
                    .get("model");
            assertEquals(qm.get("name"), jm.get("name"), args);
            Map<String, Object> qp = new HashMap<>((Map<String, Object>) qm.get("props"));
            // the link to the system memory region, an object jvmm's machine does not have
            qp.remove("memory");
            assertEquals(qp, jm.get("props"), args);
        }
        Map<String, Object> bad = j.command(cmd("query-cpu-model-expansion",
                "{\"type\":\"full\",\"model\":{\"name\":\"nosuch\"}}"));
        assertEquals(q.command(cmd("query-cpu-model-expansion",
                "{\"type\":\"full\",\"model\":{\"name\":\"nosuch\"}}")), bad);
    }

    @Test
    void hostFeatureQueries() throws Exception {
        for (String c : List.of("query-sev-capabilities", "query-sgx-capabilities", "query-gic-capabilities")) {
            assertEquals(error(q, c), error(j, c), c);
        }
        // jvmm has no TPM: the same (list) shape, empty
        assertTrue(ok(q, "query-tpm-models", null) instanceof List);
        assertEquals(List.of(), ok(j, "query-tpm-models", null));
        assertEquals(List.of(), ok(j, "query-tpm-types", null));
    }

    @Test
    void migrationCapabilitiesAreAPartOfQemus() throws Exception {
        Map<String, Object> qc = byName(ok(q, "query-migrate-capabilities", null), "capability");
        Map<String, Object> jc = byName(ok(j, "query-migrate-capabilities", null), "capability");
        assertEquals(Set.of("events"), jc.keySet());
        assertEquals(qc.get("events"), jc.get("events"));
        String set = "{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}";
        assertEquals(ok(q, "migrate-set-capabilities", set), ok(j, "migrate-set-capabilities", set));
        assertEquals(byName(ok(q, "query-migrate-capabilities", null), "capability").get("events"),
                byName(ok(j, "query-migrate-capabilities", null), "capability").get("events"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void commandLineOptionsAreAPartOfQemus() throws Exception {
        Map<String, Object> qo = byName(ok(q, "query-command-line-options", null), "option");
        Map<String, Object> jo = byName(ok(j, "query-command-line-options", null), "option");
        for (Map.Entry<String, Object> e : jo.entrySet()) {
            assertTrue(qo.containsKey(e.getKey()), e.getKey());
            List<Object> qp = (List<Object>) ((Map<String, Object>) qo.get(e.getKey())).get("parameters");
            for (Object p : (List<Object>) ((Map<String, Object>) e.getValue()).get("parameters")) {
                Map<String, Object> pm = (Map<String, Object>) p;
                assertTrue(qp.stream().map(x -> (Map<String, Object>) x).anyMatch(x -> x.get("name")
                        .equals(pm.get("name")) && x.get("type").equals(pm.get("type"))), e.getKey() + " " + pm);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void typesCommandsAndMemoryBackendsAreAPartOfQemus() throws Exception {
        Set<Object> qt = ((List<Object>) ok(q, "qom-list-types", null)).stream()
                .map(t -> ((Map<String, Object>) t).get("name")).collect(Collectors.toSet());
        for (Object t : (List<Object>) ok(j, "qom-list-types", null)) {
            assertTrue(qt.contains(((Map<String, Object>) t).get("name")), String.valueOf(t));
        }
        Set<Object> qc = ((List<Object>) ok(q, "query-commands", null)).stream()
                .map(c -> ((Map<String, Object>) c).get("name")).collect(Collectors.toSet());
        // query-events: jvmm still answers it; QEMU 7.2 has it no more (libvirt 9.0 does not send it)
        qc.add("query-events");
        for (Object c : (List<Object>) ok(j, "query-commands", null)) {
            assertTrue(qc.contains(((Map<String, Object>) c).get("name")), String.valueOf(c));
        }
        for (String type : List.of("memory-backend-file", "memory-backend")) {
            String args = "{\"typename\":\"" + type + "\"}";
            assertEquals(Set.copyOf(namesAndTypes(ok(q, "qom-list-properties", args))),
                    Set.copyOf(namesAndTypes(ok(j, "qom-list-properties", args))), type);
        }
    }
}
