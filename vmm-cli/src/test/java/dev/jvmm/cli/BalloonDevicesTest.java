package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.irq.IrqLine;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.core.memory.RamRange;
import dev.jvmm.devices.pci.BarMapper;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciInterruptRouter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -device virtio-balloon-pci as PcMachine assembles it (no KVM needed), its QMP control and QOM view. */
class BalloonDevicesTest {
    static final long RAM = 64L << 20;
    final GuestMemory mem = GuestMemory.allocate(List.of(new RamRange(0, RAM)));
    final PciBus pci = new PciBus(new PciInterruptRouter(i -> IrqLine.NONE), BarMapper.of(new PioBus(), new MmioBus()));
    final EventBus events = new EventBus();
    final List<VmEvent> published = new CopyOnWriteArrayList<>();
    final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    final VirtualClock clock = new VirtualClock(System::nanoTime, timers);
    final MsiRouter msi = () -> new MsiRouter.MsiVector() {
        @Override
        public void update(long address, int data) {
        }

        @Override
        public void trigger() {
        }

        @Override
        public void close() {
        }
    };
    final BalloonDevices b = new BalloonDevices(mem, RAM, pci, msi, IoEventRegistry.NONE, events, clock);

    BalloonDevicesTest() {
        events.subscribe((e, t) -> published.add(e));
    }

    @AfterEach
    void close() {
        b.close();
        timers.shutdownNow();
        mem.close();
    }

    static QemuOpts device(String text) {
        return QemuOpts.parse("-device " + text, text, "driver");
    }

    @Test
    void noDeviceMeansDeviceNotActive() {
        MachineCommandException e = assertThrows(MachineCommandException.class, () -> b.balloon(0));
        assertEquals("DeviceNotActive", e.errorClass());
        assertEquals("No balloon device has been activated", e.getMessage());
        assertThrows(MachineCommandException.class, b::actual);
        assertTrue(b.qomObject("/machine/peripheral/bal0").isEmpty());
    }

    @Test
    void optionsAsQemu() {
        assertEquals("Property 'virtio-balloon-pci.foo' not found", assertThrows(OptionException.class,
                () -> b.add(device("virtio-balloon-pci,foo=1"), "/machine/peripheral-anon/device[0]")).getMessage());
        assertEquals("Parameter 'deflate-on-oom' expects 'on' or 'off'", assertThrows(OptionException.class,
                () -> b.add(device("virtio-balloon-pci,deflate-on-oom=maybe"), "x")).getMessage());
        assertEquals("'free-page-hint' requires 'iothread' to be set", assertThrows(OptionException.class,
                () -> b.add(device("virtio-balloon-pci,free-page-hint=on"), "x")).getMessage());
        assertEquals("timer value must be greater than zero", assertThrows(OptionException.class,
                () -> b.add(device("virtio-balloon-pci,guest-stats-polling-interval=-3"), "x")).getMessage());
        b.add(device("virtio-balloon,id=bal0,deflate-on-oom=on"), "/machine/peripheral/bal0");
        assertNotNull(pci.function(2, 0), "the first free slot");
        assertEquals("Only one balloon device is supported", assertThrows(OptionException.class,
                () -> b.add(device("virtio-balloon-pci"), "x")).getMessage());
    }

    @Test
    void balloonAndQom() throws Exception {
        b.add(device("virtio-balloon-pci,id=bal0,addr=5"), "/machine/peripheral/bal0");
        assertEquals(RAM, b.actual());
        assertEquals("Parameter 'target' expects a size",
                assertThrows(MachineCommandException.class, () -> b.balloon(0)).getMessage());
        b.balloon(RAM / 4);
        assertTrue(published.isEmpty(), "only the guest's write of actual reports BALLOON_CHANGE");
        assertEquals(RAM * 3 / 4 >> 12, b.balloon().numPages());

        QomObject pciObj = b.qomObject("/machine/peripheral/bal0/").orElseThrow();
        QomObject backend = b.qomObject("virtio-backend").orElseThrow();
        assertTrue(b.qomObject("bal0").isPresent());
        assertTrue(b.qomObject("/machine/peripheral/bal1").isEmpty());
        assertEquals("virtio-balloon-pci", pciObj.get("type"));
        assertEquals(40L, pciObj.get("addr"));
        assertEquals("05.0", pciObj.get("legacy-addr"));
        assertEquals("virtio-balloon-device", backend.get("type"));
        assertEquals("/machine/peripheral/bal0/virtio-backend", pciObj.get("virtio-backend"));
        assertEquals("guest statistics", pciObj.properties().stream()
                .filter(p -> p.name().equals("guest-stats")).findFirst().orElseThrow().type());

        @SuppressWarnings("unchecked")
        Map<String, Object> stats = (Map<String, Object>) pciObj.get("guest-stats");
        assertEquals(0L, stats.get("last-update"));
        assertEquals(new BigInteger("18446744073709551615"), ((Map<?, ?>) stats.get("stats")).get("stat-swap-in"));

        pciObj.set("guest-stats-polling-interval", 5L);
        assertEquals(5L, backend.get("guest-stats-polling-interval"));
        assertEquals("Invalid parameter type for 'guest-stats-polling-interval', expected: integer",
                assertThrows(MachineCommandException.class,
                        () -> pciObj.set("guest-stats-polling-interval", "x")).getMessage());
        assertEquals("timer value is too big", assertThrows(MachineCommandException.class,
                () -> pciObj.set("guest-stats-polling-interval", 1L << 32)).getMessage());
        assertEquals("Property 'virtio-balloon-device.guest-stats' is not writable",
                assertThrows(MachineCommandException.class, () -> pciObj.set("guest-stats", 1L)).getMessage());
        assertEquals("Property 'virtio-balloon-pci.nope' not found",
                assertThrows(MachineCommandException.class, () -> pciObj.get("nope")).getMessage());
        assertEquals("Property 'virtio-balloon-device.legacy-iothread' is not readable",
                assertThrows(MachineCommandException.class, () -> backend.get("legacy-iothread")).getMessage());
        assertEquals("Attempt to set property 'addr' on device 'bal0' (type 'virtio-balloon-pci') after it was"
                + " realized", assertThrows(MachineCommandException.class, () -> pciObj.set("addr", 1L)).getMessage());
        assertEquals("Attempt to set property 'deflate-on-oom' on anonymous device (type 'virtio-balloon-device')"
                + " after it was realized", assertThrows(MachineCommandException.class,
                        () -> pciObj.set("deflate-on-oom", true)).getMessage());
        assertEquals("Property 'virtio-balloon-pci.type' is not writable",
                assertThrows(MachineCommandException.class, () -> pciObj.set("type", "x")).getMessage());
    }
}
