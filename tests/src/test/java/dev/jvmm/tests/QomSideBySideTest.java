package dev.jvmm.tests;

import dev.jvmm.qmp.QmpProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * QOM as QEMU 7.2 shows it and as jvmm shows it, with both VMMs started on the same command line (stopped, -S,
 * with a QMP socket): the types (qom-list-types, parents, interfaces), their properties (device-list-properties,
 * qom-list-properties, -device T,help), the object tree (qom-list, qom-get), -global, query-command-line-options
 * and the error lines for bad property values.
 *
 * <p>jvmm models a subset of QEMU's types: "modelled" means listed by jvmm's own {@code qom-list-types
 * abstract=true}. Whatever jvmm shows must be what QEMU shows; whatever QEMU shows must be in jvmm unless it is a
 * {@code child<T>} / {@code link<T>} whose T jvmm does not model (memory regions, IRQs, hpet, ...): those are
 * printed as notes. Orders are QEMU's hash-table orders, so lists are compared as sets (help output, which QEMU
 * sorts, must keep QEMU's order).
 *
 * <p>{@code -Djvmm.qomAgainstQemu=true} runs QEMU in jvmm's place, to check the comparisons themselves.
 */
class QomSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String QEMU_PREFIX = "qemu-system-x86_64: ";
    private static final Pattern REF_TYPE = Pattern.compile("(?:child|link)<(.+)>");

    /** The concrete device types issue 13 models, with QEMU's names. */
    static final List<String> DEVICE_TYPES = List.of("isa-debug-exit", "isa-serial", "pvpanic", "i6300esb", "ib700",
            "ide-hd", "ide-cd", "virtio-blk-pci", "virtio-blk-device", "virtio-serial-pci", "virtio-serial-device",
            "virtserialport", "virtconsole", "virtio-balloon-pci", "virtio-balloon-device", "i440FX",
            "i440FX-pcihost", "PIIX3", "piix3-ide", "PIIX4_PM", "i8042", "kvm-pit", "mc146818rtc", "port92",
            "qemu64-x86_64-cpu", "host-x86_64-cpu", "max-x86_64-cpu", "piix3-usb-uhci");

    static final String MACHINE_TYPE = "pc-i440fx-7.2-machine";

    /** Their abstract ancestors and the buses they make. */
    static final List<String> OTHER_TYPES = List.of("object", "device", "pci-device", "isa-device", "sys-bus-device",
            "virtio-pci", "virtio-device", "virtio-blk-pci-base", "virtio-serial-pci-base", "virtio-balloon-pci-base",
            "virtio-serial-port", "ide-device", "pit-common", "pci-piix3", "pci-ide", "pci-host-bridge", "x86_64-cpu",
            "cpu", "machine", "x86-machine", "generic-pc-machine", "bus", "PCI", "ISA", "IDE", "System",
            "virtio-bus", "virtio-pci-bus", "virtio-serial-bus", "container", "pci-uhci-usb", "usb-bus");

    /** -device with ids, the brief's "several devices" line. */
    static final String SEVERAL_IDS = "-device isa-debug-exit,id=dbg -device virtio-blk-pci,drive=d0,id=vblk"
            + " -drive file=IMG,format=raw,if=none,id=d0,readonly=on -device virtio-serial-pci"
            + " -device virtserialport,chardev=c0,name=p0 -chardev null,id=c0 -device virtio-balloon-pci,id=bal"
            + " -device i6300esb -device pvpanic -serial null";

    /**
     * The same kind of machine with (almost) no ids, a virtconsole and an ide-cd on ide.1 (no -object memory
     * backend: jvmm has no -object).
     */
    static final String SEVERAL_ANON = "-device isa-debug-exit -device virtio-blk-pci,drive=d0"
            + " -drive file=IMG,format=raw,if=none,id=d0,readonly=on -device virtio-serial-pci,id=vs"
            + " -device virtconsole,chardev=c0 -chardev null,id=c0 -device virtio-balloon-pci -device i6300esb,id=wd"
            + " -device pvpanic,id=pp -device ide-cd,drive=d1,bus=ide.1"
            + " -drive file=IMG,format=raw,if=none,id=d1,media=cdrom -serial null";

    /**
     * Where jvmm differs from QEMU on purpose, property by property, with the reason; the comparison prints
     * these as notes instead of failing. Everything else must match.
     */
    static final Map<String, String> KNOWN = Map.ofEntries(
            Map.entry("acpi-pcihp-bsel", "ACPI PCI hotplug is not modelled yet (the hotplug issue adds it)"),
            Map.entry("acpi-pcihp-io-base", "ACPI PCI hotplug is not modelled yet (the hotplug issue adds it)"),
            Map.entry("acpi-pcihp-io-len", "ACPI PCI hotplug is not modelled yet (the hotplug issue adds it)"),
            Map.entry("cpu-hotplug-legacy", "jvmm has no CPU hotplug"),
            Map.entry("tsc-frequency", "jvmm does not read KVM's TSC rate"),
            Map.entry("disable-legacy", "jvmm's virtio-pci functions are modern-only: realized, auto reads \"on\""));

    /** Whether a difference on this property is a known, explained one (then printed as a note). */
    static boolean known(String property, List<String> notes, String difference) {
        String why = KNOWN.get(property);
        if (why != null) {
            notes.add(difference + " [known: " + why + "]");
        }
        return why != null;
    }

    /** Properties whose values are compared with qom-get on every node both list them on. */
    static final Set<String> GET_PROPS = Set.of("type", "realized", "hotpluggable", "hotplugged", "parent_bus",
            "iobase", "iosize", "drive", "serial", "addr", "legacy-addr", "chardev", "name", "nr", "ioport", "events",
            "max_ports", "multifunction", "disable-legacy", "disable-modern", "irq", "index", "size",
            "memory-backend", "virtio-backend", "virtio-bus", "i440fx", "pci.0", "isa.0", "ide.0", "ide.1");

    private static Path dir;

    /** QEMU and jvmm (or a second QEMU) on one command line; modelled is jvmm's qom-list-types abstract=true. */
    record Pair(QmpProbe qemu, QmpProbe jvmm, Set<String> modelled) {
        void close() {
            qemu.close();
            if (jvmm != null) {
                jvmm.close();
            }
        }
    }

    private static boolean againstQemu() {
        return Boolean.getBoolean("jvmm.qomAgainstQemu");
    }

    private static synchronized Path dir() {
        if (dir == null) {
            dir = Env.tempDir("qom-sbs");
            try {
                Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    /** The shared arguments: the tiny guest idling, stopped, KVM, the probed -cpu, no display. */
    static List<String> args(String extra) {
        Path kernel = Env.guest(TinyGuest.Format.PVH.file);
        List<String> a = new ArrayList<>(List.of("-enable-kvm", "-cpu", QemuCpu.spec(), "-display", "none", "-S",
                "-m", "128", "-kernel", kernel.toString(), "-append", "action=idle"));
        for (String s : extra.trim().split(" +")) {
            if (!s.isEmpty()) {
                a.add(s.replace("IMG", dir().resolve("disk.img").toString()));
            }
        }
        return a;
    }

    private static List<String> command(String program, List<String> args) {
        List<String> c = new ArrayList<>();
        c.add(program);
        c.addAll(args);
        return c;
    }

    private static String otherProgram(Path qemu) {
        return againstQemu() ? qemu.toString() : Env.launcher().toString();
    }

    /** Starts QEMU, then jvmm, on args; the caller closes the pair. */
    static Pair start(String extra, String name) {
        Path qemu = Env.assumeQemu();
        List<String> a = args(extra);
        QmpProbe q;
        try {
            q = QmpProbe.start(command(qemu.toString(), a), dir(), name + "-qemu");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            QmpProbe j = QmpProbe.start(command(otherProgram(qemu), a), dir(), name + "-jvmm");
            Set<String> modelled = new TreeSet<>();
            for (Map<String, Object> t : maps(j.ok("qom-list-types", Map.of("abstract", true)))) {
                modelled.add((String) t.get("name"));
            }
            return new Pair(q, j, modelled);
        } catch (IOException e) {
            q.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | AssertionError e) {
            q.close();
            throw e;
        }
    }

    /** Deletes the image directory. */
    @AfterAll
    static synchronized void deleteDir() throws IOException {
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
            dir = null;
        }
    }

    /**
     * Dynamic tests run against one pair started here on extra; the pair is closed when JUnit closes the
     * stream, before the next test (and ChildProcessGuard) look.
     */
    static Stream<DynamicNode> withPair(String extra, String name, Function<Pair, Stream<DynamicNode>> tests) {
        Pair p = start(extra, name);
        try {
            return tests.apply(p).onClose(p::close);
        } catch (RuntimeException | AssertionError e) {
            p.close();
            throw e;
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> maps(Object list) {
        return (List<Map<String, Object>>) list;
    }

    /** A (name, type) pair of a property list, as "name: type". */
    static String nameType(Map<String, Object> p) {
        return p.get("name") + ": " + p.get("type");
    }

    /** Whether jvmm has to show a property of this type: plain values always, child<T>/link<T> when T is modelled. */
    static boolean mustShow(String type, Set<String> modelled) {
        Matcher m = REF_TYPE.matcher(type);
        return !m.matches() || modelled.contains(m.group(1));
    }

    /**
     * Compares two property lists (qom-list, qom-list-properties, device-list-properties) as sets of name: type;
     * appends what differs to problems and what jvmm may leave out to notes. With defaults, default-value must be
     * jvmm's where QEMU gives one.
     */
    static void compareProps(String what, Object qemuList, Object jvmmList, Set<String> modelled, boolean defaults,
            List<String> problems, List<String> notes) {
        Map<String, Map<String, Object>> q = new LinkedHashMap<>();
        for (Map<String, Object> p : maps(qemuList)) {
            q.put(nameType(p), p);
        }
        Map<String, Map<String, Object>> j = new LinkedHashMap<>();
        for (Map<String, Object> p : maps(jvmmList)) {
            if (j.put(nameType(p), p) != null) {
                problems.add(what + ": jvmm lists " + nameType(p) + " twice");
            }
        }
        for (String k : j.keySet()) {
            if (!q.containsKey(k)) {
                problems.add(what + ": jvmm lists " + k + ", QEMU does not" + qemuNamed(q, k));
            }
        }
        for (Map.Entry<String, Map<String, Object>> e : q.entrySet()) {
            String type = (String) e.getValue().get("type");
            if (j.containsKey(e.getKey())) {
                if (defaults && e.getValue().containsKey("default-value")
                        && !Objects.equals(e.getValue().get("default-value"), j.get(e.getKey()).get("default-value"))) {
                    problems.add(what + ": " + e.getKey() + " default-value QEMU " + e.getValue().get("default-value")
                            + ", jvmm " + j.get(e.getKey()).get("default-value"));
                }
            } else if (mustShow(type, modelled)
                    && !known((String) e.getValue().get("name"), notes, what + ": jvmm lacks " + e.getKey())) {
                problems.add(what + ": jvmm lacks " + e.getKey());
            } else {
                notes.add(what + ": not modelled: " + e.getKey());
            }
        }
    }

    private static String qemuNamed(Map<String, Map<String, Object>> q, String key) {
        String name = key.substring(0, key.indexOf(": "));
        return q.values().stream().filter(p -> name.equals(p.get("name"))).findFirst()
                .map(p -> " (QEMU: " + nameType(p) + ")").orElse("");
    }

    static void report(String what, List<String> problems, List<String> notes) {
        if (!notes.isEmpty()) {
            System.out.println("[" + what + "] allowed to be missing in jvmm:\n  " + String.join("\n  ", notes));
        }
        if (!problems.isEmpty()) {
            fail(what + ": " + problems.size() + " difference(s):\n  " + String.join("\n  ", problems));
        }
    }

    /** The error of a reply as "Class: desc", or "ok" for a return. */
    static String error(Map<String, Object> reply) {
        if (reply.containsKey("return")) {
            return "ok";
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> e = (Map<String, Object>) reply.get("error");
        return e.get("class") + ": " + e.get("desc");
    }

    /** stderr lines without the program prefix and without QEMU's CPUID feature warnings. */
    static List<String> errorLines(String stderr) {
        List<String> out = new ArrayList<>();
        for (String l : stderr.lines().toList()) {
            if (l.contains("host doesn't support requested feature")) {
                continue;
            }
            if (l.startsWith(QEMU_PREFIX)) {
                l = l.substring(QEMU_PREFIX.length());
            } else if (l.startsWith("jvmm: ")) {
                l = l.substring("jvmm: ".length());
            }
            out.add(l);
        }
        return out;
    }

    static VmProcess.Result runOther(Path qemu, String... argv) {
        return againstQemu() ? VmProcess.runQemu(qemu, TIMEOUT, argv) : VmProcess.runJvmm(TIMEOUT, argv);
    }

    // ---- types and their properties ------------------------------------------------------------------------

    static final String BARE = "-nodefaults";

    /**
     * On one pair started with -nodefaults: device-list-properties of each device type (the same (name, type)
     * set, and QEMU's default values), qom-list-properties of each device type, the machine type and their
     * ancestors and buses, both for every x86 CPU model type QEMU lists, and the errors for unknown, abstract
     * and non-device types.
     */
    @TestFactory
    Stream<DynamicNode> typesAndProperties() {
        return withPair(BARE, "types", p -> {
            List<String> cpus = maps(p.qemu().ok("qom-list-types", Map.of("implements", "x86_64-cpu"))).stream()
                    .map(t -> (String) t.get("name")).sorted().toList();
            return Stream.of(
                    dynamicContainer("device-list-properties", DEVICE_TYPES.stream().map(t ->
                            dynamicTest(t, () -> propertiesMatch(p, "device-list-properties", t)))),
                    dynamicContainer("qom-list-properties", allTypes().map(t ->
                            dynamicTest(t, () -> propertiesMatch(p, "qom-list-properties", t)))),
                    dynamicContainer("CPU models", cpus.stream().map(t -> dynamicTest(t, () -> {
                        propertiesMatch(p, "device-list-properties", t);
                        propertiesMatch(p, "qom-list-properties", t);
                    }))),
                    dynamicContainer("property list errors", PROPERTY_LIST_ERRORS.stream().map(c ->
                            dynamicTest(c, () -> propertyListErrorMatches(p, c)))),
                    dynamicTest("qom-list-types", () -> qomListTypesMatch(p)),
                    dynamicContainer("qom-list-types implements", IMPLEMENTS.stream().map(i ->
                            dynamicTest(i, () -> implementsMatches(p, i)))),
                    dynamicContainer("query-command-line-options", Stream.of("device", "global").map(o ->
                            dynamicTest(o, () -> commandLineOptionsMatch(p, o)))));
        });
    }

    static Stream<String> allTypes() {
        return Stream.concat(Stream.concat(DEVICE_TYPES.stream(), Stream.of(MACHINE_TYPE)), OTHER_TYPES.stream());
    }

    /** command (device-list-properties or qom-list-properties) of type: the rules of the class comment. */
    static void propertiesMatch(Pair p, String command, String type) {
        Object q = p.qemu().ok(command, Map.of("typename", type));
        Map<String, Object> j = p.jvmm().execute(command, Map.of("typename", type));
        assertEquals("ok", error(j), "jvmm " + command + " " + type);
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        compareProps(command + " " + type, q, j.get("return"), p.modelled(), command.startsWith("device"), problems,
                notes);
        report(command + " " + type, problems, notes);
    }

    /** Commands whose error replies must match (types other than nosuchtype only where jvmm models them). */
    static final List<String> PROPERTY_LIST_ERRORS = List.of("device-list-properties nosuchtype",
            "device-list-properties device", "device-list-properties isa-device", "device-list-properties virtio-pci",
            "device-list-properties pci-device", "device-list-properties " + MACHINE_TYPE,
            "device-list-properties PCI", "device-list-properties container",
            "device-list-properties hotplug-handler", "device-list-properties memory-backend-ram",
            "device-list-properties chardev-null", "qom-list-properties nosuchtype",
            "qom-list-properties hotplug-handler", "qom-list-properties conventional-pci-device",
            "qom-list-properties interface");

    static void propertyListErrorMatches(Pair p, String commandAndType) {
        String[] c = commandAndType.split(" ");
        if (!c[1].equals("nosuchtype") && !p.modelled().contains(c[1])) {
            System.out.println("[" + commandAndType + "] " + c[1] + " is not modelled by jvmm: not compared");
            return;
        }
        Map<String, Object> q = p.qemu().execute(c[0], Map.of("typename", c[1]));
        assertTrue(q.containsKey("error"), "QEMU: " + q);
        assertEquals(error(q), error(p.jvmm().execute(c[0], Map.of("typename", c[1]))), commandAndType);
    }

    /**
     * qom-list-types abstract=true: every type jvmm lists is QEMU's, with the same parent and abstract flag; jvmm
     * lists the device types of issue 13 and the machine, and each listed type's parent. Without abstract=true:
     * jvmm's list is QEMU's concrete list restricted to the modelled types.
     */
    static void qomListTypesMatch(Pair p) {
        Map<String, Map<String, Object>> q = byName(p.qemu().ok("qom-list-types", Map.of("abstract", true)));
        Map<String, Map<String, Object>> j = byName(p.jvmm().ok("qom-list-types", Map.of("abstract", true)));
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Map<String, Object>> e : j.entrySet()) {
            Map<String, Object> qt = q.get(e.getKey());
            if (qt == null) {
                problems.add(e.getKey() + ": not a QEMU type");
            } else if (!qt.equals(e.getValue())) {
                problems.add(e.getKey() + ": QEMU " + qt + ", jvmm " + e.getValue());
            }
            Object parent = e.getValue().get("parent");
            if (parent != null && !j.containsKey(parent)) {
                problems.add(e.getKey() + ": its parent " + parent + " is not listed");
            }
        }
        for (String t : DEVICE_TYPES) {
            if (!j.containsKey(t)) {
                problems.add(t + ": missing");
            }
        }
        if (!j.containsKey(MACHINE_TYPE)) {
            problems.add(MACHINE_TYPE + ": missing");
        }
        Set<String> qc = restricted(p.qemu().ok("qom-list-types", Map.of()), p.modelled());
        Set<String> jc = restricted(p.jvmm().ok("qom-list-types", Map.of()), null);
        if (!qc.equals(jc)) {
            problems.add("concrete types: QEMU's restricted to jvmm's " + qc + ", jvmm " + jc);
        }
        report("qom-list-types", problems, List.of());
    }

    private static Map<String, Map<String, Object>> byName(Object list) {
        Map<String, Map<String, Object>> m = new LinkedHashMap<>();
        for (Map<String, Object> t : maps(list)) {
            m.put((String) t.get("name"), t);
        }
        return m;
    }

    /** The entries (as text) of a qom-list-types reply whose name is in keep (all when keep is null). */
    private static Set<String> restricted(Object list, Set<String> keep) {
        Set<String> s = new TreeSet<>();
        for (Map<String, Object> t : maps(list)) {
            if (keep == null || keep.contains((String) t.get("name"))) {
                s.add(new TreeSet<>(t.entrySet().stream().map(Object::toString).toList()).toString());
            }
        }
        return s;
    }

    static final List<String> IMPLEMENTS = List.of("pci-device", "isa-device", "virtio-device", "device",
            "sys-bus-device", "bus", "x86_64-cpu", "machine", "virtio-pci", "virtio-serial-port",
            "conventional-pci-device", "pci-express-device", "hotplug-handler", "acpi-dev-aml-interface", "resettable",
            "vmstate-if");

    /** qom-list-types implements=I, with and without abstract=true: QEMU's list restricted to jvmm's types. */
    static void implementsMatches(Pair p, String iface) {
        for (Map<String, Object> args : List.<Map<String, Object>>of(Map.of("implements", iface),
                Map.of("implements", iface, "abstract", true))) {
            Set<String> q = restricted(p.qemu().ok("qom-list-types", args), p.modelled());
            Set<String> j = restricted(p.jvmm().ok("qom-list-types", args), null);
            assertEquals(q, j, "qom-list-types " + args);
        }
    }

    /** query-command-line-options option=device and option=global: the same options and parameter sets. */
    static void commandLineOptionsMatch(Pair p, String option) {
        Object q = p.qemu().ok("query-command-line-options", Map.of("option", option));
        Object j = p.jvmm().ok("query-command-line-options", Map.of("option", option));
        assertEquals(optionShape(q), optionShape(j), option);
    }

    private static Map<String, Set<String>> optionShape(Object reply) {
        Map<String, Set<String>> m = new LinkedHashMap<>();
        for (Map<String, Object> o : maps(reply)) {
            Set<String> params = new TreeSet<>();
            for (Map<String, Object> par : maps(o.get("parameters"))) {
                params.add(new TreeSet<>(par.entrySet().stream().map(Object::toString).toList()).toString());
            }
            m.put((String) o.get("option"), params);
        }
        return m;
    }

    // ---- the object tree --------------------------------------------------------------------------------------

    static Stream<Arguments> trees() {
        return Stream.of(Arguments.of("ids", "-nodefaults " + SEVERAL_IDS),
                Arguments.of("anon", "-nodefaults " + SEVERAL_ANON), Arguments.of("bare", "-nodefaults"));
    }

    /**
     * qom-list of the fixed containers and of every node QEMU has under "/" whose type jvmm models (devices,
     * buses, backends, chardevs, objects): the rules of the class comment; then qom-get of {@link #GET_PROPS}
     * where both list them.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("trees")
    void qomTreeMatches(String name, String extra) {
        Pair p = start(extra, "tree-" + name);
        try {
            compareTree(p, name);
        } finally {
            p.close();
        }
    }

    static void compareTree(Pair p, String name) {
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Set<String> paths = new LinkedHashSet<>(List.of("/", "/machine", "/machine/peripheral",
                "/machine/peripheral-anon", "/machine/unattached", "/machine/i440fx", "/machine/i440fx/pci.0",
                "/objects", "/chardevs"));
        List<String> queue = new ArrayList<>(List.of("/"));
        while (!queue.isEmpty()) {
            String path = queue.remove(0);
            for (Map<String, Object> e : maps(p.qemu().ok("qom-list", Map.of("path", path)))) {
                String type = (String) e.get("type");
                if (type.startsWith("child<")) {
                    String child = (path.equals("/") ? "" : path) + "/" + e.get("name");
                    if (mustShow(type, p.modelled())) {
                        paths.add(child);
                        queue.add(child);
                    } else if (!type.equals("child<memory-region>") && !type.equals("child<irq>")) {
                        notes.add(child + ": " + type + " not modelled");
                    }
                }
            }
        }
        for (String path : paths) {
            Map<String, Object> q = p.qemu().execute("qom-list", Map.of("path", path));
            Map<String, Object> j = p.jvmm().execute("qom-list", Map.of("path", path));
            if (!error(q).equals("ok") || !error(j).equals("ok")) {
                if (!error(q).equals(error(j))) {
                    problems.add("qom-list " + path + ": QEMU " + error(q) + ", jvmm " + error(j));
                }
                continue;
            }
            List<String> pathNotes = new ArrayList<>();
            compareProps(path, q.get("return"), j.get("return"), p.modelled(), false, problems, pathNotes);
            notes.addAll(pathNotes.stream().filter(n -> !n.endsWith("<memory-region>") && !n.endsWith("<irq>"))
                    .toList());
            Set<String> both = new TreeSet<>();
            for (Map<String, Object> e : maps(j.get("return"))) {
                both.add((String) e.get("name"));
            }
            for (Map<String, Object> e : maps(q.get("return"))) {
                String prop = (String) e.get("name");
                // The QMP monitor's chardev: its socket path differs by design.
                if (both.contains(prop) && GET_PROPS.contains(prop) && !path.startsWith("/chardevs/compat_monitor")) {
                    Map<String, Object> args = Map.of("path", path, "property", prop);
                    Map<String, Object> qv = p.qemu().execute("qom-get", args);
                    Map<String, Object> jv = p.jvmm().execute("qom-get", args);
                    String difference = "qom-get " + path + " " + prop + ": QEMU " + qv + ", jvmm " + jv;
                    if (!Objects.equals(qv, jv) && !known(prop, notes, difference)) {
                        problems.add(difference);
                    }
                }
            }
        }
        System.out.println("[qom tree " + name + "] compared " + paths.size() + " paths: " + paths);
        report("qom tree " + name, problems, notes);
    }

    /** QMP commands (JSON arguments) whose replies must match on the "ids" machine. */
    static final List<String> QMP_CASES = List.of(
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"iobase\",\"value\":1536}",
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"iobase\",\"value\":\"xyz\"}",
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"type\",\"value\":\"x\"}",
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"foo\",\"value\":1}",
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"hotpluggable\",\"value\":true}",
            "qom-set {\"path\":\"/machine/peripheral/dbg\",\"property\":\"parent_bus\",\"value\":\"/machine\"}",
            "qom-set {\"path\":\"/nosuch\",\"property\":\"x\",\"value\":1}",
            "qom-set {\"path\":\"/machine\",\"property\":\"graphics\",\"value\":\"x\"}",
            "qom-list {\"path\":\"/nosuch\"}",
            "qom-list {\"path\":\"/machine/peripheral/nosuch\"}",
            "qom-list {\"path\":\"\"}",
            "qom-list {\"path\":\"/machine/peripheral/dbg/iobase\"}",
            "qom-list {\"path\":\"dbg\"}",
            "qom-list {\"path\":\"machine/peripheral\"}",
            "qom-list {\"path\":\"/machine/peripheral/dbg/\"}",
            "qom-get {\"path\":\"/machine/peripheral/dbg\",\"property\":\"nosuch\"}",
            "qom-get {\"path\":\"/machine/peripheral/nosuch\",\"property\":\"type\"}",
            "qom-get {\"path\":\"dbg\",\"property\":\"iobase\"}",
            "qom-get {\"path\":\"vblk\",\"property\":\"drive\"}",
            "qom-get {\"path\":\"pci.0\",\"property\":\"type\"}",
            "qom-get {\"path\":\"/machine/peripheral/vblk/virtio-backend\",\"property\":\"drive\"}",
            "query-command-line-options {\"option\":\"nosuch\"}");

    /** The QMP error replies of qom-list, qom-get, qom-set and query-command-line-options, and partial paths. */
    @TestFactory
    Stream<DynamicNode> qmpRepliesMatch() {
        return withPair("-nodefaults " + SEVERAL_IDS, "qmp", p -> QMP_CASES.stream().map(c ->
                dynamicTest(c, () -> qmpReplyMatches(p, c))));
    }

    static void qmpReplyMatches(Pair p, String commandAndArgs) {
        String command = commandAndArgs.substring(0, commandAndArgs.indexOf(' '));
        Map<String, Object> args = parseJson(commandAndArgs.substring(command.length() + 1));
        Map<String, Object> q = p.qemu().execute(command, args);
        Map<String, Object> j = p.jvmm().execute(command, args);
        if (q.containsKey("error")) {
            assertEquals(error(q), error(j), commandAndArgs);
        } else if (command.equals("qom-list")) {
            List<String> problems = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            assertEquals("ok", error(j), commandAndArgs);
            compareProps(commandAndArgs, q.get("return"), j.get("return"), p.modelled(), false, problems, notes);
            report(commandAndArgs, problems, notes);
        } else {
            assertEquals(q, j, commandAndArgs);
        }
    }

    /** The test cases' JSON: one flat object of string, integer and boolean members. */
    private static Map<String, Object> parseJson(String s) {
        Map<String, Object> m = new LinkedHashMap<>();
        Matcher mm = Pattern.compile("\"([^\"]*)\":(\"([^\"]*)\"|-?\\d+|true|false)").matcher(s);
        while (mm.find()) {
            String v = mm.group(2);
            m.put(mm.group(1), mm.group(3) != null ? mm.group(3)
                    : v.equals("true") || v.equals("false") ? (Object) Boolean.valueOf(v) : (Object) Long.valueOf(v));
        }
        return m;
    }

    // ---- -global --------------------------------------------------------------------------------------------

    static Stream<Arguments> globals() {
        String blk = " -device virtio-blk-pci,drive=d0,id=vb -drive file=IMG,format=raw,if=none,id=d0,readonly=on";
        String dbg = " -device isa-debug-exit,id=dbg";
        return Stream.of(
                Arguments.of("-global isa-debug-exit.iobase=0x501" + dbg, "/machine/peripheral/dbg", "iobase", 1281L),
                Arguments.of("-global isa-debug-exit.iobase=0x502" + dbg, "/machine/peripheral/dbg", "iobase", 1282L),
                Arguments.of("-global driver=isa-debug-exit,property=iobase,value=0x502" + dbg,
                        "/machine/peripheral/dbg", "iobase", 1282L),
                Arguments.of("-global isa-debug-exit.iobase=0x501 -global isa-debug-exit.iobase=0x504" + dbg,
                        "/machine/peripheral/dbg", "iobase", 1284L),
                Arguments.of("-global isa-debug-exit.iobase=0x501 -device isa-debug-exit,iobase=0x503,id=dbg",
                        "/machine/peripheral/dbg", "iobase", 1283L),
                Arguments.of("-global ISA-DEBUG-EXIT.iobase=0x502" + dbg, "/machine/peripheral/dbg", "iobase", 1281L),
                Arguments.of("-global nosuchtype.x=1" + dbg, "/machine/peripheral/dbg", "iobase", 1281L),
                Arguments.of("-global isa-debug-exit.foo=1", "/machine", "type", MACHINE_TYPE),
                Arguments.of("-global virtio-blk-pci.serial=x" + blk, "/machine/peripheral/vb", "serial", "x"),
                Arguments.of("-global virtio-blk-pci.serial=x" + blk, "/machine/peripheral/vb/virtio-backend",
                        "serial", "x"),
                Arguments.of("-global virtio-blk-device.serial=y" + blk, "/machine/peripheral/vb", "serial", "y"),
                Arguments.of("-global virtio-pci.disable-legacy=on" + blk, "/machine/peripheral/vb", "disable-legacy",
                        "on"),
                Arguments.of("-global virtio-balloon-pci.deflate-on-oom=yes -device virtio-balloon-pci,id=b",
                        "/machine/peripheral/b/virtio-backend", "deflate-on-oom", true));
    }

    /**
     * -global in both spellings, on a type, a subclass's parent (virtio-pci) and a proxy's backend: qom-get gives
     * QEMU's value on both, and stderr (the "invalid class name" warnings) is the same.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("globals")
    void globalSetsTheProperty(String extra, String path, String prop, Object expected) {
        Pair p = start("-nodefaults " + extra, "global");
        try {
            Map<String, Object> args = Map.of("path", path, "property", prop);
            Object q = p.qemu().ok("qom-get", args);
            assertEquals(expected, q, "QEMU's value");
            assertEquals(p.qemu().execute("qom-get", args), p.jvmm().execute("qom-get", args), extra);
        } finally {
            p.close();
        }
        assertEquals(errorLines(p.qemu().stderr()), errorLines(p.jvmm().stderr()), "stderr for " + extra);
    }

    // ---- errors on the command line -------------------------------------------------------------------------

    /**
     * Bad -device property values and bad -global options: QEMU's and jvmm's stderr lines (without the program
     * name) and exit status are the same. The tiny guest runs, so a line both accept ends rather than waits.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "-device isa-debug-exit,iobase=xyz",
        "-device isa-debug-exit,iobase=0x1ffffffff",
        "-device isa-debug-exit,iobase=4294967296",
        "-device isa-debug-exit,iobase=-1",
        "-device isa-debug-exit,iobase=",
        "-device isa-debug-exit,iobase=1e3",
        "-device isa-debug-exit,foo=1",
        "-device isa-debug-exit,iobase",
        "-device nosuchdev",
        "-device device",
        "-device virtio-pci",
        "-device isa-debug-exit,id=1bad",
        "-device isa-debug-exit,id=a -device isa-debug-exit,id=a,iobase=0x600",
        "-device virtio-balloon-pci,deflate-on-oom=maybe",
        "-device virtio-balloon-pci,disable-legacy=x",
        "-device virtio-blk-pci,drive=d0,discard_granularity=1Q -drive file=IMG,format=raw,if=none,id=d0,readonly=on",
        "-device virtio-blk-pci,drive=d0,queue-size=70000 -drive file=IMG,format=raw,if=none,id=d0,readonly=on",
        "-device virtio-blk-pci,drive=d0,werror=bogus -drive file=IMG,format=raw,if=none,id=d0,readonly=on",
        "-device virtio-blk-pci,drive=d0,addr=xyz -drive file=IMG,format=raw,if=none,id=d0,readonly=on",
        "-device pvpanic,ioport=0x10000",
        "-device pvpanic,events=256",
        "-device isa-serial,chardev=nosuch",
        "-global isa-debug-exit.foo=1",
        "-global isa-debug-exit.iobase=xyz",
        "-global isa-debug-exit.iobase=0x1ffffffff",
        "-global isa-debug-exit.iobase=1e3",
        "-global isa-debug-exit.iobase=",
        "-global isa-debug-exit.Iobase=0x502",
        "-global isa-debug-exit.iobase=0x502,foo=1",
        "-global driver=isa-debug-exit,property=iobase",
        "-global isa-debug-exit.iobase",
        "-global .iobase=1",
        "-global virtio-balloon-pci.deflate-on-oom=maybe -device virtio-balloon-pci",
        "-global virtio-balloon-pci.disable-legacy=x -device virtio-balloon-pci",
        "-global virtio-pci.disable-legacy=x -device virtio-balloon-pci",
        "-global virtio-blk-pci.discard_granularity=1Q -device virtio-blk-pci,drive=d0"
            + " -drive file=IMG,format=raw,if=none,id=d0,readonly=on",
        "-global pvpanic.events=256 -device pvpanic",
        "-global PIIX4_PM.disable_s3=x",
        "-global i8042.kbd-irq=x",
        "-global kvm-pit.lost_tick_policy=bogus",
        "-global mc146818rtc.base_year=x",
        // not compared: -global isa-device.foo=1, which QEMU reports at isa-pcspk, a device jvmm does not model
    })
    void sameErrorLines(String extra) {
        Path qemu = Env.assumeQemu();
        List<String> a = new ArrayList<>();
        for (String s : extra.split(" ")) {
            a.add(s.replace("IMG", dir().resolve("disk.img").toString()));
        }
        String[] argv = TinyGuest.argv(Env.guest(TinyGuest.Format.PVH.file), null, a.toArray(String[]::new));
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        assertEquals(1, q.status(), "QEMU accepted it: " + q.stderr());
        VmProcess.Result j = runOther(qemu, argv);
        assertEquals(errorLines(q.stderr()), errorLines(j.stderr()), "stderr; jvmm status " + j.status());
        assertEquals(q.status(), j.status(), j.stderr());
    }

    // ---- -device help --------------------------------------------------------------------------------------

    static final List<String> HELP_CASES = List.of("help", "?", "isa-debug-exit,help", "isa-debug-exit,?",
            "virtio-blk-pci,help", "virtserialport,help", "virtconsole,help", "pvpanic,help", "i6300esb,help",
            "ib700,help", "isa-serial,help", "ide-hd,help", "ide-cd,help", "virtio-balloon-pci,help",
            "virtio-serial-pci,help", "nosuch,help", "virtio-pci,help", "device,help", "piix3-usb-uhci,help");

    /**
     * -device help and -device T,help: jvmm prints a subsequence of QEMU's lines (the same text in the same
     * order), leaving out only devices and child/link properties of types it does not model; the same status and
     * stderr (the errors for an unknown or abstract type). The modelled types come from a pair started first.
     */
    @TestFactory
    Stream<DynamicNode> deviceHelpMatches() {
        Path qemu = Env.assumeQemu();
        Set<String> modelled;
        Pair p = start(BARE, "help");
        try {
            modelled = p.modelled();
        } finally {
            p.close();
        }
        return HELP_CASES.stream().map(d -> dynamicTest(d, () -> deviceHelpMatches(qemu, modelled, d)));
    }

    static void deviceHelpMatches(Path qemu, Set<String> modelled, String device) {
        String[] argv = args("-nodefaults -device " + device).toArray(String[]::new);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = runOther(qemu, argv);
        assertEquals(errorLines(q.stderr()), errorLines(j.stderr()), "stderr");
        assertEquals(q.status(), j.status(), "status; jvmm stderr: " + j.stderr());
        List<String> ql = q.stdout().lines().toList();
        List<String> jl = j.stdout().lines().toList();
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        int at = 0;
        for (String l : jl) {
            int k = ql.subList(at, ql.size()).indexOf(l);
            if (k < 0) {
                problems.add((ql.contains(l) ? "out of QEMU's order: " : "not QEMU's: ") + l);
            } else {
                at += k + 1;
            }
        }
        Pattern devLine = Pattern.compile("name \"([^\"]+)\".*");
        Pattern propLine = Pattern.compile("  [^=]+=<(.+?)>(?:  +| - |$).*");
        for (String l : ql) {
            Matcher d = devLine.matcher(l);
            Matcher pr = propLine.matcher(l);
            boolean must = d.matches() ? modelled.contains(d.group(1))
                    : !pr.matches() || mustShow(pr.group(1), modelled);
            if (!jl.contains(l)) {
                if (must) {
                    problems.add("missing: " + l);
                } else {
                    notes.add(l);
                }
            }
        }
        // In the device list, devices jvmm does not model are the rule, not worth a note each.
        report("-device " + device, problems, device.contains(",") ? notes : List.of());
    }
}
