package dev.jvmm.kvm;

import dev.jvmm.core.machine.CpuModelControl;
import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** query-cpu-definitions and query-cpu-model-expansion's data over the PVM-like host of {@link CpuModelTest}. */
class CpuModelCatalogTest {
    private final CpuModelCatalog catalog = new CpuModelCatalog(HostCpu.of(CpuModelTest.fake()));

    private CpuModelControl.Definition definition(String name) {
        return catalog.definitions().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void everyCpuNameIsListedWithQemusFlags() {
        assertEquals(CpuModel.table().modelNames().size(), catalog.definitions().size());
        CpuModelControl.Definition qemu64 = definition("qemu64");
        assertEquals("qemu64-x86_64-cpu", qemu64.typeName());
        assertEquals("qemu64-v1", qemu64.aliasOf());
        assertTrue(qemu64.migrationSafe());
        assertFalse(qemu64.isStatic());
        CpuModelControl.Definition base = definition("base");
        assertTrue(base.isStatic());
        assertNull(base.aliasOf());
        CpuModelControl.Definition host = definition("host");
        assertFalse(host.migrationSafe());
        assertEquals(List.of(), host.unavailableFeatures());
    }

    @Test
    void unavailableFeaturesAreWhatKvmFilters() {
        // the fake host has no pni, as this machine's PVM: QEMU lists exactly that for qemu64 here
        assertEquals(List.of("pni"), definition("qemu64").unavailableFeatures());
        assertEquals(CpuModel.parse("Skylake-Client", CpuModelTest.fake(), CpuTopology.single()).warnings().size(),
                definition("Skylake-Client").unavailableFeatures().size());
    }

    @Test
    void staticExpansionIsBasePlusFeaturesAndIdentity() throws Exception {
        CpuModelControl.Expansion e = catalog.expand(false, "qemu64", Map.of());
        assertEquals("base", e.name());
        // before KVM's filter, as QEMU's unrealized object: qemu64 asks for pni
        assertEquals(true, e.props().get("pni"));
        assertEquals(15L, e.props().get("family"));
        assertEquals(107L, e.props().get("model"));
        assertEquals(false, e.props().get("lmce"));
        assertFalse(e.props().containsKey("sse3"), "aliases are not in the static set");
        assertEquals(CpuModel.table().featureNames().size() + 8, e.props().size());
    }

    @Test
    void fullExpansionIsEveryPropertyOfAnUnplacedObject() throws Exception {
        CpuModelControl.Expansion e = catalog.expand(true, "Skylake-Client", Map.of("vmx", false));
        assertEquals("Skylake-Client", e.name());
        assertEquals(false, e.props().get("vmx"));
        assertEquals(true, e.props().get("sse4.2"));
        assertEquals(true, e.props().get("sse4_2"), "aliases are properties too");
        assertEquals(-1L, e.props().get("socket-id"));
        assertEquals(0xffff_ffffL, e.props().get("apic-id"));
        assertEquals(false, e.props().get("realized"));
        assertEquals(0L, e.props().get("phys-bits"));
    }

    @Test
    void errorsAreQemus() {
        MachineCommandException e = assertThrows(MachineCommandException.class,
                () -> catalog.expand(true, "nosuch", Map.of()));
        assertEquals("CPU model 'nosuch' not found", e.getMessage());
        e = assertThrows(MachineCommandException.class, () -> catalog.expand(false, "host", Map.of("foo", 1L)));
        assertEquals("Property 'host-x86_64-cpu.foo' not found", e.getMessage());
    }

    @Test
    void hvPassthroughAddsNoEnlightenment() throws Exception {
        CpuModelControl.Expansion e = catalog.expand(true, "host", Map.of("migratable", false,
                "hv-passthrough", true));
        assertEquals(true, e.props().get("hv-passthrough"));
        assertEquals(false, e.props().get("hv-relaxed"));
        assertEquals(false, e.props().get("migratable"));
    }
}
