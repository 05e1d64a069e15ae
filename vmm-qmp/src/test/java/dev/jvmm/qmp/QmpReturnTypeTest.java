package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Qcow2Image;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciDeviceInfo;
import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.QomProperty;
import dev.jvmm.core.machine.VcpuInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command's answer conforms to the return type the schema declares (and so to what query-qmp-schema
 * tells clients): called on a machine with drives, a PCI bus, two vCPUs, a chardev, a balloon and a QOM
 * object, every command that takes no arguments, plus the argument forms that change what is returned.
 */
class QmpReturnTypeTest {
    /** quit ends the (fake) process; qmp_capabilities runs on the session, not the machine. */
    private static final Set<String> NOT_CALLED = Set.of("quit", "qmp_capabilities");

    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine();
        Path raw = dir.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        Path qcow2 = dir.resolve("top.qcow2");
        Qcow2Image.create(qcow2, 1 << 20, raw, "raw");
        BlockGraph g = new BlockGraph(machine.events(), machine.mainLoop(),
                machine.lifecycle()::requestIoErrorStop, BlockImageFactory.DEFAULT);
        g.addDrive("file=" + raw + ",format=raw,if=none,id=d0,node-name=n0");
        g.attach("d0", "/machine/peripheral/vblk0/virtio-backend", "virtio-blk-device.drive");
        g.addDrive("file=" + qcow2 + ",format=qcow2,if=none,id=d1");
        g.attach("d1", "/machine/peripheral/vblk1/virtio-backend", "virtio-blk-device.drive");
        g.addDrive("if=none,id=cd0,media=cdrom");
        g.attach(null, "cdrom0", "/machine/peripheral/cdrom0", new QmpTrayReferenceTest.Tray(), "ide-cd.drive");
        machine.blockGraph = g;
        machine.vcpus = List.of(
                new VcpuInfo(0, 4242, 0, 0, 0, "/machine/unattached/device[0]", "host-x86_64-cpu"),
                new VcpuInfo(1, 4243, 0, 1, 0, "/machine/unattached/device[1]", "host-x86_64-cpu"));
        machine.chardevs = List.of(new ChardevInfo("serial0", "file:/dev/null", true));
        machine.pciBuses = List.of(new PciBusInfo(0, List.of(
                new PciDeviceInfo(0, 0, 0, 0x0600, "Host bridge", 0x8086, 0x1237, 0x1af4, 0x1100, 0, 0, "",
                        List.of()),
                new PciDeviceInfo(0, 3, 0, 0x0780, null, 0x1af4, 0x1003, 0x1af4, 0x3, 11, 1, "vser0",
                        List.of(new PciRegionInfo(0, true, 0xc040, 0x20, false, false),
                                new PciRegionInfo(1, false, 0xfebf1000L, 0x1000, false, false),
                                new PciRegionInfo(4, false, 0xfe000000L, 0x4000, true, true))))));
        machine.balloon = new BalloonControl() {
            long actual = 128L << 20;

            @Override
            public void balloon(long target) {
                actual = target;
            }

            @Override
            public long actual() {
                return actual;
            }
        };
        QomObject bal = new QomObject() {
            @Override
            public List<QomProperty> properties() {
                return List.of(new QomProperty("type", "string"), new QomProperty("guest-stats", "guest-stats"));
            }

            @Override
            public Object get(String property) throws MachineCommandException {
                if (property.equals("type")) {
                    return "virtio-balloon-pci";
                }
                Map<String, Object> stats = new LinkedHashMap<>();
                stats.put("stat-swap-in", 0L);
                return QmpCommands.obj("last-update", 0L, "stats", stats);
            }

            @Override
            public void set(String property, Object value) throws MachineCommandException {
                throw MachineCommandException.generic("Property 'virtio-balloon-pci." + property + "' is read-only");
            }
        };
        machine.qom = path -> path.equals("/machine/peripheral/bal0") ? Optional.of(bal) : Optional.empty();
        server = new QmpServer(machine, loop);
    }

    @AfterEach
    void stop() {
        server.close();
        machine.lifecycle().close();
        loop.close();
    }

    @Test
    void everyAnswerConformsToItsDeclaredReturnType() throws Exception {
        List<String> mismatches = new ArrayList<>();
        List<String> answered = new ArrayList<>();
        for (Schema.Command c : server.schema().commands()) {
            boolean noneRequired = c.args().members().stream().allMatch(QType.Member::optional);
            if (noneRequired && !NOT_CALLED.contains(c.name())) {
                check(c.name(), Map.of(), mismatches, answered);
            }
        }
        check("query-blockstats", Map.of("query-nodes", true), mismatches, answered);
        check("query-named-block-nodes", Map.of("flat", true), mismatches, answered);
        check("query-machines", Map.of("compat-props", true), mismatches, answered);
        check("balloon", Map.of("value", 64L << 20), mismatches, answered);
        check("block_resize", Map.of("device", "d0", "size", 2L << 20), mismatches, answered);
        check("qom-list", Map.of("path", "/machine/peripheral/bal0"), mismatches, answered);
        check("qom-get", Map.of("path", "/machine/peripheral/bal0", "property", "type"), mismatches, answered);
        check("qom-get", Map.of("path", "/machine/peripheral/bal0", "property", "guest-stats"), mismatches,
                answered);
        check("human-monitor-command", Map.of("command-line", "info registers -a"), mismatches, answered);
        check("set-action", Map.of("reboot", "shutdown"), mismatches, answered);
        check("watchdog-set-action", Map.of("action", "pause"), mismatches, answered);
        check("blockdev-open-tray", Map.of("id", "cdrom0"), mismatches, answered);
        check("blockdev-close-tray", Map.of("id", "cdrom0"), mismatches, answered);
        assertEquals(List.of(), mismatches);
        // the machine's data made it into the answers, so the members behind them were checked too
        for (String name : List.of("query-block", "query-blockstats", "query-named-block-nodes", "query-pci",
                "query-chardev", "query-cpus-fast", "query-hotpluggable-cpus", "query-balloon", "qom-list",
                "query-status", "query-version", "query-qmp-schema", "balloon", "block_resize", "stop", "cont")) {
            assertTrue(answered.contains(name), name + " answered with an error: " + answered);
        }
    }

    /** The checker itself: what it must refuse. */
    @Test
    void checkerFindsDepartures() {
        QType.Struct t = QType.struct("T", QType.Member.req("a", QType.INT),
                QType.Member.opt("b", new QType.Enum("E", List.of("x"))), QType.Member.opt("c", QType.array(QType.STR)));
        assertEquals(List.of(), Schema.returnMismatches(t, QmpCommands.obj("a", 1L)));
        assertEquals(List.of(), Schema.returnMismatches(t, QmpCommands.obj("a", 1L, "b", "x", "c", List.of("s"))));
        assertEquals(List.of("return.a: missing from T"), Schema.returnMismatches(t, QmpCommands.obj()));
        assertEquals(List.of("return.a: String 1 instead of int"),
                Schema.returnMismatches(t, QmpCommands.obj("a", "1")));
        assertEquals(List.of("return.b: null instead of enum E"),
                Schema.returnMismatches(t, QmpCommands.obj("a", 1L, "b", null)));
        assertEquals(List.of("return.b: y is not a value of enum E"),
                Schema.returnMismatches(t, QmpCommands.obj("a", 1L, "b", "y")));
        assertEquals(List.of("return.c[0]: Long 5 instead of str"),
                Schema.returnMismatches(t, QmpCommands.obj("a", 1L, "c", List.of(5L))));
        assertEquals(List.of("return.d: not a member of T"),
                Schema.returnMismatches(t, QmpCommands.obj("a", 1L, "d", 1L)));
        assertFalse(Schema.returnMismatches(QType.array(t), QmpCommands.obj("a", 1L)).isEmpty());
    }

    /** Runs one command on the main loop, as the server does; an error reply is no answer to check. */
    private void check(String name, Map<String, Object> args, List<String> mismatches, List<String> answered)
            throws Exception {
        Schema.Command c = server.schema().lookup(name);
        CompletableFuture<Object> f = new CompletableFuture<>();
        machine.mainLoop().execute(() -> {
            try {
                f.complete(c.invoke(new LinkedHashMap<>(args), null));
            } catch (QmpError e) {
                f.complete(e);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        Object ret = f.get(10, TimeUnit.SECONDS);
        if (ret instanceof QmpError) {
            return;
        }
        answered.add(name);
        for (String m : Schema.returnMismatches(c.ret(), ret)) {
            mismatches.add(name + " " + args + ": " + m);
        }
    }
}
