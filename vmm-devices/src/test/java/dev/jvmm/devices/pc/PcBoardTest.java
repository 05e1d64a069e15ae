package dev.jvmm.devices.pc;

import dev.jvmm.core.block.BlockdevOptions;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.QemuFacts;
import dev.jvmm.devices.acpi.AcpiConfig;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pc board built through the device model: QEMU's unattached numbering, /machine, and the PIIX4 PM's settings. */
class PcBoardTest {
    /**
     * A pc board as vmm-cli's PcMachine builds it, minus the vCPUs: on a test board without buses (the board
     * makes pci.0 and isa.0) and with QEMU's default 128 MiB of RAM.
     */
    private static final class Pc implements AutoCloseable {
        final TestBoard t;
        PcBoard board;

        /** machine: -machine properties ("hpet=off,..."), serials: -serial values, globals: DRIVER.PROP=VALUE each. */
        Pc(String machine, boolean nodefaults, int cpus, List<String> serials, String... globals) {
            TestBoard.Builder b = TestBoard.builder().withoutBuses().cpus(cpus).ram(128L << 20)
                    .describeIsa(d -> board.describeIsa(d));
            for (String g : globals) {
                b.global(g);
            }
            t = b.build();
            PcProperties pc = PcPropertiesTest.parse(machine);
            List<String> ids = PcBoard.serialChardevs(t.chardevs, serials);
            board = new PcBoard(t.model, new PcBoard.Config(pc, pc.acpi(), nodefaults, "qemu64-x86_64-cpu", cpus,
                    cpus, 1, cpus, 1, IntStream.range(0, cpus).boxed().toList(), t.ramSize(), ids));
        }

        /** The board as pc_init1 makes it; the IDE function and its drives (drives of them) only take numbers. */
        Pc build(int ideDrives) {
            board.createBaseDevices();
            for (int i = 0; i <= ideDrives; i++) {
                t.model.skipUnattached();
            }
            board.createPowerManagement();
            return this;
        }

        @Override
        public void close() {
            t.close();
        }
    }

    /** The types jvmm gives a node; QEMU's other devices only take their numbers. */
    private static final Set<String> MODELLED = Set.of("qemu64-x86_64-cpu", "i440FX", "PIIX3", "kvm-i8259", "hpet",
            "mc146818rtc", "kvm-pit", "isa-serial", "i8042", "port92", "PIIX4_PM");

    /** jvmm's /machine/unattached device[N] nodes, N -&gt; type. */
    private static Map<Integer, String> unattached(DeviceModel model) {
        Map<Integer, String> out = new TreeMap<>();
        QomNode u = model.machineNode().child("unattached").orElseThrow();
        for (QomNode n : u.children()) {
            if (n.name().startsWith("device[")) {
                out.put(Integer.parseInt(n.name().substring(7, n.name().length() - 1)), n.type());
            }
        }
        return out;
    }

    /** QEMU's numbering with only the types jvmm models, and the same count of numbers taken. */
    private static void assertQemusNumbering(String facts, Pc rig) {
        Map<Integer, String> qemu = QemuFacts.unattached(facts);
        Map<Integer, String> want = new TreeMap<>();
        qemu.forEach((n, t) -> {
            if (MODELLED.contains(t)) {
                want.put(n, t);
            }
        });
        assertEquals(want, unattached(rig.t.model));
        assertEquals(qemu.size(), rig.t.model.nextUnattached(), "numbers taken");
    }

    @Test
    void nodefaultsOneVcpu() {
        try (Pc rig = new Pc("", true, 1, List.of()).build(0)) {
            assertQemusNumbering("tree/unattached-nodefaults.txt", rig);
            assertEquals("/machine/unattached/device[0]", rig.board.cpuNode(0).path());
        }
    }

    @Test
    void nodefaultsTwoVcpus() {
        try (Pc rig = new Pc("", true, 2, List.of()).build(0)) {
            assertQemusNumbering("tree/unattached-nodefaults-smp2.txt", rig);
            assertEquals("/machine/unattached/device[2]", rig.board.cpuNode(1).path());
        }
    }

    /** Without -nodefaults: COM1 on a null chardev and the default CD-ROM's ide-cd. */
    @Test
    void defaults() {
        try (Pc rig = new Pc("", false, 1, List.of("null")).build(1)) {
            assertQemusNumbering("tree/unattached-defaults.txt", rig);
        }
    }

    @Test
    void leftOutDevicesTakeNoNumbers() {
        try (Pc rig = new Pc("pit=off,hpet=off,vmport=off,i8042=off,acpi=off", true, 1,
                List.of("none", "null")).build(0)) {
            // QEMU 7.2: ... 7,8 kvm-i8259, 9 mc146818rtc, 10 isa-serial (index 1), 11 isa-fdc, 12 piix3-ide
            assertEquals(Map.of(0, "qemu64-x86_64-cpu", 3, "i440FX", 4, "PIIX3", 7, "kvm-i8259", 8, "kvm-i8259",
                    9, "mc146818rtc", 10, "isa-serial"), unattached(rig.t.model));
            assertEquals(13, rig.t.model.nextUnattached());
            assertTrue(rig.board.pm().isEmpty());
            assertEquals(0x2f8, rig.t.pio.isAssigned(0x2f8) ? 0x2f8 : -1);
            assertFalse(rig.t.pio.isAssigned(0x3f8));
            assertFalse(rig.t.pio.isAssigned(0x60));
        }
    }

    @Test
    void busesAndLinksAreQemus() throws PropertyException {
        try (Pc rig = new Pc("", true, 1, List.of("null")).build(0)) {
            var tree = rig.t.model.tree();
            assertEquals("i440FX-pcihost", tree.resolve("/machine/i440fx").orElseThrow().type());
            assertEquals("PCI", tree.resolve("/machine/i440fx/pci.0").orElseThrow().type());
            assertEquals("ISA", tree.resolve("/machine/unattached/device[4]/isa.0").orElseThrow().type());
            QomNode rtc = tree.resolve("/machine/unattached/device[10]").orElseThrow();
            assertEquals("/machine/unattached/device[4]/isa.0", rtc.get("parent_bus"));
            assertEquals(0L, rtc.get("base_year"));
            assertEquals("/machine/unattached/sysbus", tree.resolve("/machine/i440fx").orElseThrow().get("parent_bus"));
            QomNode machine = rig.t.model.machineNode();
            assertEquals("/machine/unattached/device[10]", machine.get("rtc_state"));
            assertEquals("/machine/unattached/device[20]", machine.get("acpi-device"));
            QomNode com1 = tree.resolve("/machine/unattached/device[13]").orElseThrow();
            assertEquals("serial0", com1.get("chardev"));
            assertEquals(0L, com1.get("index"));
            assertEquals(8L, tree.resolve("/machine/unattached/device[4]").orElseThrow().get("addr"));
            assertEquals(true, tree.resolve("/machine/unattached/device[4]").orElseThrow().get("multifunction"));
            assertEquals(11L, tree.resolve("/machine/unattached/device[20]").orElseThrow().get("addr"));
            assertEquals(134217728L, tree.resolve("/machine/i440fx").orElseThrow().get("pci-hole-start"));
        }
    }

    /**
     * qom-list /machine has QEMU's properties and children with their types, and qom-get QEMU's values, but
     * for what jvmm does not model (fw_cfg, the SMRAM region, the RTC's time alias, the RAM backend object).
     */
    @Test
    void machineIsQemus() throws PropertyException {
        Set<String> notModelled = Set.of("fw_cfg", "smram");
        try (Pc rig = new Pc("", true, 1, List.of()).build(0)) {
            QomNode m = rig.t.model.machineNode();
            Map<String, String> ours = new LinkedHashMap<>();
            m.list().forEach(e -> ours.put(e.getKey(), e.getValue()));
            Map<String, String> qemu = new LinkedHashMap<>();
            for (String l : QemuFacts.lines("tree/machine.txt")) {
                String[] f = l.split("\t");
                if (notModelled.contains(f[0])) {
                    continue;
                }
                qemu.put(f[0], f[1]);
                // rtc-time is the guest's clock now, not the recorded one
                if (f[1].startsWith("child<") || f[0].equals("memory-backend") || f[0].equals("rtc-time")) {
                    continue;
                }
                Object want = BlockdevOptions.parse("{\"v\": " + f[2] + "}").tree().get("v");
                assertEquals(normal(want), normal(m.get(f[0])), f[0]);
            }
            assertEquals(new TreeMap<>(qemu), new TreeMap<>(ours));
        }
    }

    /** JSON values compared by value: numbers as longs, maps and lists member by member. */
    private static Object normal(Object v) {
        if (v instanceof Number n) {
            return n.longValue();
        }
        if (v instanceof Map<?, ?> map) {
            Map<Object, Object> out = new TreeMap<>();
            map.forEach((k, x) -> out.put(k, normal(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(PcBoardTest::normal).toList();
        }
        return v;
    }

    private static String dsdtSleepStates(Pc rig) {
        rig.board.installAcpi(rig.t.memory).orElseThrow();
        byte[] bios = new byte[0x10000];
        for (int i = 0; i < bios.length; i++) {
            bios[i] = rig.t.memory.readByte(0xf0000 + i);
        }
        String text = new String(bios, StandardCharsets.ISO_8859_1);
        return (text.contains("_S3_") ? "S3 " : "") + (text.contains("_S4_") ? "S4 " : "") + (text.contains("_S5_")
                ? "S5" : "");
    }

    @Test
    void libvirtsGlobalsReachTheAcpiTables() {
        try (Pc rig = new Pc("", true, 1, List.of())) {
            rig.build(0);
            assertEquals("S3 S4 S5", dsdtSleepStates(rig));
        }
        try (Pc rig = new Pc("", true, 1, List.of(), "PIIX4_PM.disable_s3=1", "PIIX4_PM.disable_s4=1",
                "kvm-pit.lost_tick_policy=delay")) {
            rig.build(0);
            AcpiConfig c = rig.board.acpiConfig();
            assertFalse(c.s3());
            assertEquals(0, c.s4Val());
            assertEquals("S5", dsdtSleepStates(rig));
        }
        try (Pc rig = new Pc("", true, 1, List.of(), "PIIX4_PM.disable_s3=1", "PIIX4_PM.s4_val=3")) {
            rig.build(0);
            assertEquals(3, rig.board.acpiConfig().s4Val());
            assertEquals("S4 S5", dsdtSleepStates(rig));
        }
    }

    @Test
    void settingsJvmmCannotHonourAreRefused() {
        assertEquals("can't apply global PIIX4_PM.disable_s3=300: Parameter 'disable_s3' expects uint8_t",
                buildError("PIIX4_PM.disable_s3=300"));
        assertEquals("can't apply global PIIX4_PM.smm-enabled=on: Property 'PIIX4_PM.smm-enabled' = 'on' is not"
                + " supported by jvmm (only 'off')",
                buildError("PIIX4_PM.smm-enabled=on"));
        assertEquals("Lost tick policy not supported.", buildError("kvm-pit.lost_tick_policy=slew"));
        assertEquals("Invalid lost tick policy.", buildError("mc146818rtc.lost_tick_policy=delay"));
        assertEquals("can't apply global mc146818rtc.lost_tick_policy=foo: Parameter 'lost_tick_policy' does not"
                + " accept value 'foo'", buildError("mc146818rtc.lost_tick_policy=foo"));
    }

    private static String buildError(String global) {
        try (Pc rig = new Pc("", true, 1, List.of(), global)) {
            return assertThrows(OptionException.class, () -> rig.build(0)).getMessage();
        }
    }

    @Test
    void resetAndFirmwareSetup() {
        try (Pc rig = new Pc("", true, 1, List.of("null")).build(0)) {
            rig.board.firmwareSetup();
            rig.board.reset();
            rig.board.firmwareSetup();
            // SeaBIOS's PIRQ routes and the PM block at 0x600
            assertEquals(10, rig.t.pci.router().route(0));
            assertEquals(0x600, rig.board.pm().orElseThrow().pmIoBase());
        }
    }
}
