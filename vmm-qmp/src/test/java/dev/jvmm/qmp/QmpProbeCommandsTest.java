package dev.jvmm.qmp;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QmpConversationTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands libvirt 9.0's capability probe sends beyond the machine queries: CPU models, migration
 * capabilities and the host-feature queries, in QEMU 7.2's shapes and texts.
 */
class QmpProbeCommandsTest {
    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;
    Path sock;

    /** Two models, one an alias, and an expansion that echoes what it was asked. */
    private static final CpuModelControl CPUS = new CpuModelControl() {
        @Override
        public List<Definition> definitions() {
            return List.of(new Definition("qemu64-v1", "qemu64-v1-x86_64-cpu", List.of("pni"), false, true, false,
                    null), new Definition("qemu64", "qemu64-x86_64-cpu", List.of("pni"), false, true, false,
                    "qemu64-v1"));
        }

        @Override
        public Expansion expand(boolean full, String model, Map<String, Object> props)
                throws MachineCommandException {
            if (!model.equals("qemu64")) {
                throw MachineCommandException.generic("CPU model '" + model + "' not found");
            }
            return new Expansion(full ? model : "base", Map.of("pni", true, "full", full, "asked", props.size()));
        }
    };

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine();
        machine.cpuModels = CPUS;
        server = new QmpServer(machine, loop);
        sock = dir.resolve("qmp.sock");
        server.listenUnix(sock, false);
    }

    @AfterEach
    void stop() {
        server.close();
        machine.lifecycle().close();
        loop.close();
    }

    @Test
    void cpuDefinitionsInQemusMemberOrder() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            c.send("{\"execute\":\"query-cpu-definitions\"}");
            assertEquals("{\"return\": [{\"name\": \"qemu64-v1\", \"typename\": \"qemu64-v1-x86_64-cpu\","
                    + " \"unavailable-features\": [\"pni\"], \"static\": false, \"migration-safe\": true,"
                    + " \"deprecated\": false}, {\"name\": \"qemu64\", \"typename\": \"qemu64-x86_64-cpu\","
                    + " \"unavailable-features\": [\"pni\"], \"alias-of\": \"qemu64-v1\", \"static\": false,"
                    + " \"migration-safe\": true, \"deprecated\": false}]}", c.readLine(5000));
        }
    }

    @Test
    void cpuModelExpansionArgumentsAndErrors() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            Map<?, ?> model = (Map<?, ?>) ((Map<?, ?>) c.command("{\"execute\":\"query-cpu-model-expansion\","
                    + "\"arguments\":{\"type\":\"static\",\"model\":{\"name\":\"qemu64\",\"props\":{\"a\":1}}}}")
                    .get("return")).get("model");
            assertEquals("base", model.get("name"));
            assertEquals(Map.of("pni", true, "full", false, "asked", 1L), model.get("props"));
            model = (Map<?, ?>) ((Map<?, ?>) c.command("{\"execute\":\"query-cpu-model-expansion\","
                    + "\"arguments\":{\"type\":\"full\",\"model\":{\"name\":\"qemu64\"}}}").get("return")).get("model");
            assertEquals("qemu64", model.get("name"));
            assertEquals(true, ((Map<?, ?>) model.get("props")).get("full"));
            assertError(c.command("{\"execute\":\"query-cpu-model-expansion\",\"arguments\":{\"type\":\"foo\","
                    + "\"model\":{\"name\":\"qemu64\"}}}"), "GenericError",
                    "Parameter 'type' does not accept value 'foo'");
            assertError(c.command("{\"execute\":\"query-cpu-model-expansion\",\"arguments\":{\"type\":\"full\","
                    + "\"model\":{\"name\":\"nosuch\"}}}"), "GenericError", "CPU model 'nosuch' not found");
        }
    }

    @Test
    void migrationOffersEventsOnly() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals(List.of(Map.of("state", false, "capability", "events")),
                    c.command("{\"execute\":\"query-migrate-capabilities\"}").get("return"));
            assertEquals(Map.of(), c.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                    + "{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}}").get("return"));
            assertEquals(List.of(Map.of("state", true, "capability", "events")),
                    c.command("{\"execute\":\"query-migrate-capabilities\"}").get("return"));
            assertError(c.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                    + "{\"capabilities\":[{\"capability\":\"xbzrle\",\"state\":true}]}}"), "GenericError",
                    "Parameter 'capability' does not accept value 'xbzrle'");
        }
    }

    @Test
    void hostFeaturesAsQemuWithoutThem() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            assertEquals(List.of(), c.command("{\"execute\":\"query-tpm-models\"}").get("return"));
            assertEquals(List.of(), c.command("{\"execute\":\"query-tpm-types\"}").get("return"));
            assertError(c.command("{\"execute\":\"query-sev-capabilities\"}"), "GenericError",
                    "SEV is not enabled in KVM");
            assertError(c.command("{\"execute\":\"query-sgx-capabilities\"}"), "GenericError",
                    "SGX is not enabled in KVM");
            // x86 QEMU does not register it at all
            assertError(c.command("{\"execute\":\"query-gic-capabilities\"}"), "CommandNotFound",
                    "The command query-gic-capabilities has not been found");
        }
    }

    @Test
    void everyProbeCommandIsIntrospected() throws Exception {
        try (QmpClient c = QmpClient.negotiated(sock)) {
            List<?> schema = (List<?>) c.command("{\"execute\":\"query-qmp-schema\"}").get("return");
            List<?> commands = schema.stream().map(e -> (Map<?, ?>) e)
                    .filter(e -> "command".equals(e.get("meta-type"))).map(e -> e.get("name")).toList();
            for (String name : List.of("query-cpu-definitions", "query-cpu-model-expansion",
                    "query-migrate-capabilities", "migrate-set-capabilities", "query-tpm-models", "query-tpm-types",
                    "query-sev-capabilities", "query-sgx-capabilities")) {
                assertTrue(commands.contains(name), name);
            }
        }
    }
}
