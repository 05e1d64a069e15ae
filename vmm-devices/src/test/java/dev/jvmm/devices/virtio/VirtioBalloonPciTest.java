package dev.jvmm.devices.virtio;

import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -device virtio-balloon-pci through the device model (no KVM needed): its refusals, QMP's balloon and
 * query-balloon through {@link BalloonHandle}, and the proxy and backend nodes qom-list, qom-get and qom-set
 * see, with QEMU 7.2's names, types, values and errors.
 */
class VirtioBalloonPciTest {
    static final String BAL = "/machine/peripheral/bal0";
    final TestBoard board = new TestBoard();

    @AfterEach
    void close() {
        board.close();
    }

    @Test
    void noDeviceMeansDeviceNotActive() {
        MachineCommandException e = assertThrows(MachineCommandException.class,
                () -> BalloonHandle.balloon(board.model, 0));
        assertEquals("DeviceNotActive", e.errorClass());
        assertEquals("No balloon device has been activated", e.getMessage());
        assertThrows(MachineCommandException.class, () -> BalloonHandle.actual(board.model));
        assertTrue(board.model.tree().resolve(BAL).isEmpty());
    }

    @Test
    void refusalsAsQemu() {
        assertEquals("Property 'virtio-balloon-pci.foo' not found", board.refusal("virtio-balloon-pci,foo=1"));
        assertEquals("Parameter 'deflate-on-oom' expects 'on' or 'off'",
                board.refusal("virtio-balloon-pci,deflate-on-oom=maybe"));
        assertEquals("'free-page-hint' requires 'iothread' to be set",
                board.refusal("virtio-balloon-pci,free-page-hint=on"));
        assertEquals("iothread=io0 is not supported by jvmm: the balloon has no free page hinting",
                board.refusal("virtio-balloon-pci,iothread=io0"));
        assertEquals("timer value must be greater than zero",
                board.refusal("virtio-balloon-pci,guest-stats-polling-interval=-3"));
        assertEquals("timer value is too big",
                board.refusal("virtio-balloon-pci,guest-stats-polling-interval=4294967296"));
        assertEquals("Parameter 'guest-stats-polling-interval' expects integer",
                board.refusal("virtio-balloon-pci,guest-stats-polling-interval=x"));
        assertEquals("Property 'virtio-balloon-device.guest-stats' is not writable",
                board.refusal("virtio-balloon-pci,guest-stats=1"));
        assertEquals("Property 'virtio-balloon-pci.virtio-backend' is not writable",
                board.refusal("virtio-balloon-pci,virtio-backend=x"));
        assertEquals("Property 'virtio-balloon-pci.legacy-iothread' not found",
                board.refusal("virtio-balloon-pci,legacy-iothread=x"));
        assertEquals("property 'qemu-4-0-config-size=on' is not supported by jvmm",
                board.refusal("virtio-balloon-pci,qemu-4-0-config-size=on"));
        assertEquals("jvmm's virtio-pci devices are modern-only: disable-legacy=off is not supported",
                board.refusal("virtio-balloon-pci,disable-legacy=off"));
        assertEquals("property 'event_idx=off' is not supported by jvmm",
                board.refusal("virtio-balloon-pci,event_idx=off"));
        assertEquals("Bus 'pci.1' not found", board.refusal("virtio-balloon-pci,bus=pci.1"));
        assertTrue(board.model.devices().isEmpty(), "nothing left behind");
        assertEquals(null, board.pci.function(2, 0), "nothing plugged");

        board.add("virtio-balloon,id=bal0,deflate-on-oom=on");
        assertNotNull(board.pci.function(2, 0), "the first free slot");
        assertTrue(BalloonHandle.of(board.model).orElseThrow().device().options().deflateOnOom());
        assertEquals("Only one balloon device is supported", board.refusal("virtio-balloon-pci,free-page-hint=on"));
        assertEquals("PCI: slot 2 function 0 not available for virtio-balloon-pci, in use by virtio-balloon-pci,id=bal0",
                board.refusal("virtio-balloon-pci,id=b2,addr=2"), "QEMU places the function first");
        assertEquals("timer value must be greater than zero",
                board.refusal("virtio-balloon-pci,addr=2,guest-stats-polling-interval=-1"), "set as a property");
    }

    @Test
    void balloonAndActual() throws Exception {
        board.add("virtio-balloon-pci,id=bal0,addr=5");
        assertEquals(TestBoard.RAM, BalloonHandle.actual(board.model));
        assertEquals("Parameter 'target' expects a size", assertThrows(MachineCommandException.class,
                () -> BalloonHandle.balloon(board.model, 0)).getMessage());
        BalloonHandle.balloon(board.model, TestBoard.RAM / 4);
        assertTrue(board.published.isEmpty(), "only the guest's write of actual reports BALLOON_CHANGE");
        assertEquals(TestBoard.RAM * 3 / 4 >> 12, BalloonHandle.of(board.model).orElseThrow().device().numPages());
    }

    @Test
    void proxyAndBackendNodes() throws Exception {
        board.add("virtio-balloon-pci,id=bal0,addr=5,disable-legacy=on");
        QomNode proxy = board.node(BAL + "/");
        QomNode backend = board.node("virtio-backend");
        assertEquals(proxy, board.node("bal0"), "a partial path");
        assertTrue(board.model.tree().resolve("/machine/peripheral/bal1").isEmpty());
        assertEquals("virtio-balloon-pci", proxy.get("type"));
        assertEquals(40L, proxy.get("addr"));
        assertEquals("05.0", proxy.get("legacy-addr"));
        assertEquals("/machine/i440fx/pci.0", proxy.get("parent_bus"));
        assertEquals(true, proxy.get("hotpluggable"));
        assertEquals("on", proxy.get("disable-legacy"));
        assertEquals("virtio-balloon-device", backend.get("type"));
        assertEquals(BAL + "/virtio-backend", proxy.get("virtio-backend"));
        assertEquals(BAL + "/virtio-bus", backend.get("parent_bus"));
        assertEquals(false, backend.get("hotpluggable"));
        assertEquals(BAL + "/virtio-backend", board.node(BAL + "/virtio-bus").get("child[0]"));
        assertEquals("", backend.get("iothread"));
        assertEquals(Map.entry("guest-stats", "guest statistics"), proxy.list().stream()
                .filter(p -> p.getKey().equals("guest-stats")).findFirst().orElseThrow());

        @SuppressWarnings("unchecked")
        Map<String, Object> stats = (Map<String, Object>) proxy.get("guest-stats");
        assertEquals(0L, stats.get("last-update"));
        assertEquals(new BigInteger("18446744073709551615"), ((Map<?, ?>) stats.get("stats")).get("stat-swap-in"));

        proxy.set("guest-stats-polling-interval", 5L);
        assertEquals(5L, backend.get("guest-stats-polling-interval"));
        assertEquals(5L, proxy.get("guest-stats-polling-interval"));
        assertEquals("Invalid parameter type for 'guest-stats-polling-interval', expected: integer",
                refusal(() -> proxy.set("guest-stats-polling-interval", "x")));
        assertEquals("timer value is too big", refusal(() -> proxy.set("guest-stats-polling-interval", 1L << 32)));
        assertEquals("Property 'virtio-balloon-device.guest-stats' is not writable",
                refusal(() -> proxy.set("guest-stats", 1L)));
        assertEquals("Property 'virtio-balloon-pci.nope' not found", refusal(() -> proxy.get("nope")));
        assertEquals("Property 'virtio-balloon-device.legacy-iothread' is not readable",
                refusal(() -> backend.get("legacy-iothread")));
        assertEquals("Attempt to set property 'addr' on device 'bal0' (type 'virtio-balloon-pci') after it was"
                + " realized", refusal(() -> proxy.set("addr", 1L)));
        assertEquals("Attempt to set property 'deflate-on-oom' on anonymous device (type 'virtio-balloon-device')"
                + " after it was realized", refusal(() -> proxy.set("deflate-on-oom", true)));
        assertEquals("Attempt to set property 'deflate-on-oom' on anonymous device (type 'virtio-balloon-device')"
                + " after it was realized", refusal(() -> backend.set("deflate-on-oom", true)));
        assertEquals("Property 'virtio-balloon-pci.type' is not writable", refusal(() -> proxy.set("type", "x")));
        assertEquals("jvmm cannot unrealize virtio-balloon-pci", refusal(() -> proxy.set("realized", false)));
    }

    /** The backend's qom-list as QEMU 7.2 shows it (BalloonSideBySideTest compares it on the wire). */
    @Test
    void backendListsQemusProperties() {
        board.add("virtio-balloon-pci,id=bal0");
        assertEquals(List.of("type:string", "parent_bus:link<bus>", "realized:bool", "hotplugged:bool",
                "hotpluggable:bool", "queue_reset:bool", "use-disabled-flag:bool", "packed:bool",
                "iommu_platform:bool", "event_idx:bool", "x-disable-legacy-check:bool", "notify_on_empty:bool",
                "any_layout:bool", "use-started:bool", "indirect_desc:bool", "legacy-iothread:str",
                "iothread:link<iothread>", "deflate-on-oom:bool", "free-page-hint:bool", "page-poison:bool",
                "qemu-4-0-config-size:bool", "free-page-reporting:bool", "guest-stats-polling-interval:int",
                "guest-stats:guest statistics"),
                board.node(BAL + "/virtio-backend").list().stream().map(e -> e.getKey() + ":" + e.getValue())
                        .toList());
    }

    private interface Call {
        void run() throws PropertyException;
    }

    private static String refusal(Call c) {
        return assertThrows(PropertyException.class, c::run).getMessage();
    }
}
