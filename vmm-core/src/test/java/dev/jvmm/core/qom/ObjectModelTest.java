package dev.jvmm.core.qom;

import dev.jvmm.core.machine.MachineCommandException;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObjectModelTest {
    private static final TypeInfo DEVICE = TypeInfo.abstractType("device", "object")
            .props(Property.object("realized", PropType.object("bool"))).build();
    private static final TypeInfo PCI = TypeInfo.abstractType("pci-device", "device").bus("PCI")
            .props(Property.of("addr", PropType.PCI_DEVFN, -1L)).build();
    private static final TypeInfo BACKEND = TypeInfo.type("thing-device", "device")
            .props(Property.of("size", PropType.UINT16, 256L),
                    Property.of("mode", PropType.ON_OFF_AUTO, "auto").only("mode=VALUE is not supported", "auto",
                            "on"))
            .build();
    private static final TypeInfo PROXY = TypeInfo.type("thing-pci", "pci-device").implementing("hotplug-ish")
            .backend("virtio-backend", "thing-device")
            .props(Property.of("flag", PropType.BIT, false), Property.of("serial", PropType.STR)).build();

    private static TypeRegistry registry() {
        return new TypeRegistry().register(TypeInfo.abstractType("object", null).build()).register(DEVICE)
                .register(PCI).register(BACKEND).register(PROXY).register(TypeInfo.iface("hotplug-ish"));
    }

    private static String error(ThrowingRunnable r) {
        return assertThrows(PropertyException.class, r::run).getMessage();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void keyvalParsingUsesQemuTexts() throws Exception {
        assertEquals(0x501L, PropType.UINT32.parseKeyval("t", "iobase", "0x501"));
        assertEquals(8L, PropType.UINT32.parseKeyval("t", "iobase", "010"));
        assertEquals("Parameter 'iobase' expects integer", error(() -> PropType.UINT32.parseKeyval("t", "iobase",
                "xyz")));
        assertEquals("Parameter 'iobase' expects uint32_t", error(() -> PropType.UINT32.parseKeyval("t", "iobase",
                "0x1ffffffff")));
        assertEquals("Parameter 'iobase' expects uint32_t", error(() -> PropType.UINT32.parseKeyval("t", "iobase",
                "-1")));
        assertEquals("Parameter 'n' expects uint16_t", error(() -> PropType.UINT16.parseKeyval("t", "n", "-1")));
        assertEquals("Parameter 'iobase' expects uint64", error(() -> PropType.UINT32.parseGlobal("t", "iobase",
                "xyz")));
        assertEquals("Parameter 'd' expects 'on' or 'off'", error(() -> PropType.BIT.parseKeyval("t", "d",
                "maybe")));
        assertEquals(Boolean.TRUE, PropType.BIT.parseKeyval("t", "d", "yes"));
        assertEquals("Parameter 'x' does not accept value 'y'", error(() -> PropType.ON_OFF_AUTO.parseKeyval("t",
                "x", "y")));
        assertEquals(0x18L | 2, PropType.PCI_DEVFN.parseKeyval("t", "addr", "3.2"));
        assertEquals(0x18L, PropType.PCI_DEVFN.parseKeyval("t", "addr", "0x3"));
        assertEquals("Property 'virtio-balloon-pci.addr' doesn't take value '40'", error(() ->
                PropType.PCI_DEVFN.parseKeyval("virtio-balloon-pci", "addr", "40")));
        assertEquals(4096L, PropType.SIZE.parseKeyval("t", "s", "4k"));
        assertEquals(new BigInteger("18446744073709551615"), PropType.UINT64.toJson(-1L));
    }

    @Test
    void jsonValuesAreTypeChecked() throws Exception {
        assertEquals(5L, PropType.UINT32.fromJson("t", "n", 5L));
        assertEquals("Invalid parameter type for 'n', expected: integer", error(() ->
                PropType.UINT32.fromJson("t", "n", "5")));
        assertEquals("Invalid parameter type for 'b', expected: boolean", error(() ->
                PropType.BOOL.fromJson("t", "b", "on")));
    }

    @Test
    void propertiesComeFromTheAncestryAndTheBackend() {
        TypeRegistry r = registry();
        List<String> names = r.properties("thing-pci").stream().map(x -> x.property().name()).toList();
        assertEquals(List.of("realized", "addr", "flag", "serial", "size", "mode"), names);
        assertEquals("thing-device", r.property("thing-pci", "size").orElseThrow().owner());
        assertTrue(r.isA("thing-pci", "device"));
        assertTrue(r.isA("thing-pci", "hotplug-ish"));
        assertFalse(r.isA("thing-device", "pci-device"));
        assertEquals(List.of("thing-pci"), r.list("pci-device", false).stream().map(TypeInfo::name).toList());
        assertEquals(List.of("pci-device", "thing-pci"),
                r.list("pci-device", true).stream().map(TypeInfo::name).toList());
    }

    @Test
    void valuesSettleFromDefaultsGlobalsAndArguments() throws Exception {
        TypeRegistry r = registry();
        Globals g = new Globals();
        g.add("pci-device", "addr", "5");
        g.add("thing-pci", "size", "128");
        g.add("other", "x", "1");
        PropertyValues v = r.values("thing-pci").globals(g).keyval("size", "64").build();
        assertEquals(5 << 3, v.number("addr"));
        assertEquals(64, v.number("size"));
        assertEquals("auto", v.str("mode").orElseThrow());
        assertTrue(v.isSet("size"));
        assertFalse(v.isSet("mode"));
        assertEquals(List.of("global other.x has invalid class name"), g.warnings(r));
        assertEquals("Property 'thing-pci.nope' not found", error(() -> r.values("thing-pci").keyval("nope", "1")));
        assertEquals("Property 'thing-pci.realized' is not writable",
                error(() -> r.values("thing-pci").keyval("realized", "on")));
        assertEquals("mode=off is not supported", error(() -> r.values("thing-pci").keyval("mode", "off")));
        Globals bad = new Globals();
        bad.add("thing-pci", "size", "x");
        assertEquals("can't apply global thing-pci.size=x: Parameter 'size' expects uint64",
                error(() -> r.values("thing-pci").globals(bad)));
    }

    @Test
    void treeResolvesAbsolutePartialAndLinkedPaths() throws Exception {
        QomTree t = new QomTree();
        QomNode machine = t.root().addChild("machine", "pc");
        QomNode per = machine.addChild("peripheral", "container");
        QomNode dev = per.addChild("dbg", "thing-pci");
        QomNode bus = machine.addChild("bus0", "PCI");
        dev.addLink("parent_bus", "bus", bus::path);
        assertEquals("/machine/peripheral/dbg", dev.path());
        assertEquals(dev, t.resolve("/machine//peripheral/dbg/").orElseThrow());
        assertEquals(dev, t.resolve("dbg").orElseThrow());
        assertEquals(dev, t.resolve("peripheral/dbg").orElseThrow());
        assertEquals(bus, t.resolve("/machine/peripheral/dbg/parent_bus").orElseThrow());
        assertTrue(t.resolve("/machine/nope").isEmpty());
        per.addChild("x", "container").addChild("dbg", "thing-pci");
        assertTrue(t.resolve("dbg").isEmpty(), "an ambiguous partial path names nothing");
        assertEquals("/machine/bus0", dev.get("parent_bus"));
        assertEquals("Property 'thing-pci.nope' not found", error(() -> dev.get("nope")));
    }

    @Test
    void serviceAnswersWithQemuErrors() throws Exception {
        TypeRegistry r = registry();
        QomTree t = new QomTree();
        t.root().addChild("machine", "pc");
        QomService s = new QomService(r, t);
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> s.list("/nosuch"));
        assertEquals("DeviceNotFound", e.errorClass());
        assertEquals("Device '/nosuch' not found", e.getMessage());
        assertEquals("Parameter 'typename' expects a non-abstract device type", assertThrows(
                MachineCommandException.class, () -> s.deviceListProperties("pci-device")).getMessage());
        assertEquals("Class 'nosuch' not found", assertThrows(MachineCommandException.class,
                () -> s.qomListProperties("nosuch")).getMessage());
        assertEquals(List.of("addr", "flag", "serial", "size", "mode"),
                s.deviceListProperties("thing-pci").stream().map(QomService.PropertyInfo::name).toList());
        assertTrue(s.deviceHelp("thing-pci").contains(
                "  addr=<int32>           - Slot and optional function number, example: 06.0 or 06 (default: -1)\n"));
        assertTrue(s.deviceHelp("thing-pci").contains("  mode=<OnOffAuto>       - on/off/auto (default: \"auto\")\n"));
        assertTrue(s.deviceHelp("thing-pci").contains("  serial=<str>\n"));
    }
}
