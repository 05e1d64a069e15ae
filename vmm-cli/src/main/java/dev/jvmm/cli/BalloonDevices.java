package dev.jvmm.cli;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.QomObject;
import dev.jvmm.core.machine.QomProperty;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.virtio.VirtioBalloon;
import dev.jvmm.devices.virtio.VirtioBalloonOptions;
import dev.jvmm.devices.virtio.VirtioPciTransport;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The machine's balloon: -device virtio-balloon-pci (alias virtio-balloon), at most one as in QEMU, and what
 * QMP asks of it: balloon, query-balloon, and the QOM view (qom-list/qom-get/qom-set) of the PCI proxy and
 * its virtio-backend child with QEMU 7.2's property names, types and values. guest-stats and
 * guest-stats-polling-interval live on the backend; the proxy forwards them, as QEMU's aliases do.
 */
final class BalloonDevices implements BalloonControl, AutoCloseable {
    /** The -device properties jvmm takes; QEMU refuses others with "Property 'TYPE.NAME' not found". */
    private static final Set<String> PROPERTIES = Set.of("driver", "id", "bus", "addr", "deflate-on-oom",
            "page-poison", "free-page-reporting", "free-page-hint", "qemu-4-0-config-size",
            "guest-stats-polling-interval", "disable-legacy", "disable-modern", "event_idx", "indirect_desc",
            "ioeventfd", "multifunction", "rombar", "romfile", "notify_on_empty", "any_layout");
    private static final String PCI_TYPE = "virtio-balloon-pci";
    private static final String BACKEND_TYPE = "virtio-balloon-device";

    private final GuestMemory memory;
    private final PciBus pci;
    private final MsiRouter msi;
    private final IoEventRegistry ioevents;
    private final EventBus events;
    private final VirtualClock clock;
    private final long ramSize;
    private VirtioBalloon balloon;
    private VirtioPciTransport function;
    private String qomPath;
    private String id;
    private String disableLegacy;
    private int slot;
    private int fn;

    BalloonDevices(GuestMemory memory, long ramSize, PciBus pci, MsiRouter msi, IoEventRegistry ioevents,
                   EventBus events, VirtualClock clock) {
        this.clock = clock;
        this.memory = memory;
        this.ramSize = ramSize;
        this.pci = pci;
        this.msi = msi;
        this.ioevents = ioevents;
        this.events = events;
    }

    /** -device virtio-balloon-pci / virtio-balloon. */
    void add(QemuOpts d, String path) {
        for (String k : d.values().keySet()) {
            if (!PROPERTIES.contains(k)) {
                throw new OptionException(d.option(), "Property '" + PCI_TYPE + "." + k + "' not found");
            }
        }
        String bus = d.getOrDefault("bus", "pci.0");
        if (!bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        String legacy = d.getOrDefault("disable-legacy", "auto");
        if (!legacy.equals("auto") && !d.getBool("disable-legacy", true)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-legacy=off"
                    + " is not supported");
        }
        if (d.getBool("disable-modern", false)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-modern=on"
                    + " is not supported");
        }
        for (String fixed : new String[] {"event_idx", "indirect_desc", "ioeventfd", "rombar", "notify_on_empty",
            "any_layout"}) {
            if (d.has(fixed) && !d.getBool(fixed, true)) {
                throw new OptionException(d.option(), "property '" + fixed + "=off' is not supported by jvmm");
            }
        }
        if (d.getBool("qemu-4-0-config-size", false)) {
            throw new OptionException(d.option(), "property 'qemu-4-0-config-size=on' is not supported by jvmm");
        }
        VirtioBalloonOptions opts = new VirtioBalloonOptions(d.getOrDefault("id", ""),
                d.getBool("deflate-on-oom", false), d.getBool("page-poison", true),
                d.getBool("free-page-reporting", false));
        if (balloon != null) {
            throw new OptionException(d.option(), "Only one balloon device is supported");
        }
        if (d.getBool("free-page-hint", false)) {
            throw new OptionException(d.option(), "'free-page-hint' requires 'iothread' to be set");
        }
        long interval = d.has("guest-stats-polling-interval")
                ? d.getNumber("guest-stats-polling-interval", 0) : 0;
        VirtioBalloon b = new VirtioBalloon(opts, ramSize,
                actual -> events.publish(new VmEvent.BalloonChange(actual)), clock);
        VirtioPciTransport f = VirtioBalloon.pci(memory, b, msi, ioevents);
        PciPlacement at;
        try {
            at = LegacyPci.choose(pci, PCI_TYPE, d.get("addr").orElse(null), d.option());
        } catch (OptionException e) {
            f.close();
            throw e;
        }
        try {
            b.setStatsPollInterval(interval);
        } catch (IllegalArgumentException e) {
            f.close();
            throw new OptionException(d.option(), e.getMessage());
        }
        pci.add(at.slot(), at.function(), f);
        balloon = b;
        function = f;
        qomPath = path;
        id = opts.id();
        disableLegacy = legacy;
        slot = at.slot();
        fn = at.function();
    }

    /** The device, or null without -device virtio-balloon-pci (tests and diagnostics). */
    VirtioBalloon balloon() {
        return balloon;
    }

    // ---- QMP

    /** QEMU's qmp_balloon: no device first, then a target that is no size. */
    @Override
    public void balloon(long target) throws MachineCommandException {
        VirtioBalloon b = active();
        if (target <= 0) {
            throw MachineCommandException.generic("Parameter 'target' expects a size");
        }
        b.setTarget(target);
    }

    @Override
    public long actual() throws MachineCommandException {
        return active().actualBytes();
    }

    private VirtioBalloon active() throws MachineCommandException {
        if (balloon == null) {
            throw BalloonControl.notActive();
        }
        return balloon;
    }

    /**
     * The proxy or its backend by absolute path (a trailing '/' is ignored, as QEMU's resolver ignores empty
     * components) or by a partial path naming one of them.
     */
    Optional<QomObject> qomObject(String path) {
        if (balloon == null || path == null || path.isEmpty()) {
            return Optional.empty();
        }
        String p = path.replaceAll("/+", "/");
        if (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        String backend = qomPath + "/virtio-backend";
        if (!p.startsWith("/")) {
            // a partial path: matched against the end of ours, whole components only
            if (("/" + qomPath).endsWith("/" + p) || qomPath.endsWith("/" + p)) {
                p = qomPath;
            } else if (backend.endsWith("/" + p)) {
                p = backend;
            }
        }
        if (p.equals(qomPath)) {
            return Optional.of(new Proxy());
        }
        if (p.equals(backend)) {
            return Optional.of(new Backend());
        }
        return Optional.empty();
    }

    /** guest-stats as QEMU's balloon_stats_get_all visits it: last-update, then stats (uint64 each). */
    private Map<String, Object> guestStats() {
        VirtioBalloon.GuestStats s = balloon.guestStats();
        Map<String, Object> stats = new LinkedHashMap<>();
        long[] v = s.stats();
        for (int i = 0; i < v.length; i++) {
            stats.put(VirtioBalloon.STAT_NAMES.get(i), v[i] >= 0 ? (Object) v[i]
                    : new BigInteger(Long.toUnsignedString(v[i])));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("last-update", s.lastUpdate());
        m.put("stats", stats);
        return m;
    }

    /** One QOM property: its type, its value, and whether qom-set reaches a handler (the rest are qdev's). */
    private record Prop(String name, String type, Supplier<Object> value, boolean qdev, boolean alias) {
    }

    private abstract class Base implements QomObject {
        abstract String typeName();

        abstract List<Prop> props();

        /** QEMU names the device in after-realize errors by id, or "anonymous" without one. */
        String deviceText(boolean alias) {
            if (alias || id.isEmpty()) {
                return "anonymous device (type '" + (alias ? BACKEND_TYPE : typeName()) + "')";
            }
            return "device '" + id + "' (type '" + typeName() + "')";
        }

        @Override
        public List<QomProperty> properties() {
            List<QomProperty> out = new ArrayList<>();
            for (Prop p : props()) {
                out.add(new QomProperty(p.name(), p.type()));
            }
            return out;
        }

        Prop find(String property) throws MachineCommandException {
            for (Prop p : props()) {
                if (p.name().equals(property)) {
                    return p;
                }
            }
            throw MachineCommandException.generic("Property '" + typeName() + "." + property + "' not found");
        }

        @Override
        public Object get(String property) throws MachineCommandException {
            Prop p = find(property);
            if (p.value() == null) {
                throw MachineCommandException.generic("Property '" + typeName() + "." + property
                        + "' is not readable");
            }
            return p.value().get();
        }

        @Override
        public void set(String property, Object value) throws MachineCommandException {
            Prop p = find(property);
            switch (property) {
                case "guest-stats-polling-interval" -> {
                    if (!(value instanceof Long l)) {
                        throw MachineCommandException.generic("Invalid parameter type for '" + property
                                + "', expected: integer");
                    }
                    try {
                        balloon.setStatsPollInterval(l);
                    } catch (IllegalArgumentException e) {
                        throw MachineCommandException.generic(e.getMessage());
                    }
                }
                case "guest-stats" -> throw MachineCommandException.generic("Property '" + BACKEND_TYPE
                        + ".guest-stats' is not writable");
                case "type" -> throw MachineCommandException.generic("Property '" + typeName()
                        + ".type' is not writable");
                case "realized" -> {
                    if (!(value instanceof Boolean b)) {
                        throw MachineCommandException.generic("Invalid parameter type for 'realized', expected:"
                                + " boolean");
                    }
                    if (!b) {
                        throw MachineCommandException.generic("jvmm cannot unrealize " + typeName());
                    }
                }
                default -> {
                    if (p.qdev()) {
                        throw MachineCommandException.generic("Attempt to set property '" + property + "' on "
                                + deviceText(p.alias()) + " after it was realized");
                    }
                    throw MachineCommandException.generic("Property '" + typeName() + "." + property
                            + "' is not writable");
                }
            }
        }
    }

    /** The virtio-balloon-pci proxy: QEMU 7.2's properties in qom-list order, memory regions left out. */
    private final class Proxy extends Base {
        @Override
        String typeName() {
            return PCI_TYPE;
        }

        @Override
        List<Prop> props() {
            VirtioBalloonOptions o = balloon.options();
            List<Prop> l = new ArrayList<>();
            l.add(new Prop("type", "string", () -> PCI_TYPE, false, false));
            l.add(new Prop("parent_bus", "link<bus>", () -> "/machine/i440fx/pci.0", false, false));
            l.add(new Prop("realized", "bool", () -> true, false, false));
            l.add(new Prop("hotplugged", "bool", () -> false, false, false));
            l.add(new Prop("hotpluggable", "bool", () -> true, false, false));
            l.add(pci("failover_pair_id", "str", ""));
            l.add(pci("romfile", "str", ""));
            l.add(pci("addr", "int32", (long) (slot << 3 | fn)));
            l.add(pci("romsize", "uint32", 0xffff_ffffL));
            l.add(pci("x-pcie-lnksta-dllla", "bool", true));
            l.add(pci("rombar", "uint32", 1L));
            l.add(pci("x-pcie-extcap-init", "bool", true));
            l.add(pci("acpi-index", "uint32", 0L));
            l.add(pci("multifunction", "bool", false));
            l.add(pci("legacy-addr", "str", String.format("%02x.%x", slot, fn)));
            l.add(pci("migrate-extra", "bool", true));
            l.add(pci("ats", "bool", false));
            l.add(pci("x-ignore-backend-features", "bool", false));
            l.add(pci("x-pcie-pm-init", "bool", true));
            l.add(pci("aer", "bool", false));
            l.add(pci("x-pcie-flr-init", "bool", true));
            l.add(pci("x-pcie-lnkctl-init", "bool", true));
            l.add(pci("x-ats-page-aligned", "bool", true));
            l.add(pci("page-per-vq", "bool", false));
            l.add(pci("x-pcie-deverr-init", "bool", true));
            l.add(pci("virtio-pci-bus-master-bug-migration", "bool", false));
            l.add(pci("modern-pio-notify", "bool", false));
            l.add(pci("x-disable-pcie", "bool", false));
            l.add(pci("disable-legacy", "OnOffAuto", disableLegacy));
            l.add(pci("disable-modern", "bool", false));
            l.add(alias("free-page-reporting", "bool", o.freePageReporting()));
            l.add(alias("indirect_desc", "bool", true));
            l.add(alias("iommu_platform", "bool", false));
            l.add(alias("deflate-on-oom", "bool", o.deflateOnOom()));
            l.add(alias("use-disabled-flag", "bool", true));
            l.add(alias("event_idx", "bool", true));
            l.add(alias("page-poison", "bool", o.pagePoison()));
            l.add(new Prop("guest-stats-polling-interval", "int", balloon::statsPollInterval, false, false));
            l.add(new Prop("guest-stats", "guest statistics", BalloonDevices.this::guestStats, false, false));
            l.add(alias("x-disable-legacy-check", "bool", false));
            l.add(alias("any_layout", "bool", true));
            l.add(alias("iothread", "link<iothread>", ""));
            l.add(alias("notify_on_empty", "bool", true));
            l.add(alias("queue_reset", "bool", true));
            l.add(alias("qemu-4-0-config-size", "bool", false));
            l.add(alias("packed", "bool", false));
            l.add(alias("use-started", "bool", true));
            l.add(alias("free-page-hint", "bool", false));
            l.add(new Prop("virtio-backend", "child<" + BACKEND_TYPE + ">", () -> qomPath + "/virtio-backend",
                    false, false));
            return l;
        }

        private Prop pci(String name, String type, Object v) {
            return new Prop(name, type, () -> v, true, false);
        }

        private Prop alias(String name, String type, Object v) {
            return new Prop(name, type, () -> v, true, true);
        }
    }

    /** The virtio-balloon-device child. */
    private final class Backend extends Base {
        @Override
        String typeName() {
            return BACKEND_TYPE;
        }

        @Override
        String deviceText(boolean alias) {
            return "anonymous device (type '" + BACKEND_TYPE + "')";
        }

        @Override
        List<Prop> props() {
            VirtioBalloonOptions o = balloon.options();
            List<Prop> l = new ArrayList<>();
            l.add(new Prop("type", "string", () -> BACKEND_TYPE, false, false));
            l.add(new Prop("parent_bus", "link<bus>", () -> qomPath + "/virtio-bus", false, false));
            l.add(new Prop("realized", "bool", () -> true, false, false));
            l.add(new Prop("hotplugged", "bool", () -> false, false, false));
            l.add(new Prop("hotpluggable", "bool", () -> false, false, false));
            l.add(dev("queue_reset", "bool", true));
            l.add(dev("use-disabled-flag", "bool", true));
            l.add(dev("packed", "bool", false));
            l.add(dev("iommu_platform", "bool", false));
            l.add(dev("event_idx", "bool", true));
            l.add(dev("x-disable-legacy-check", "bool", false));
            l.add(dev("notify_on_empty", "bool", true));
            l.add(dev("any_layout", "bool", true));
            l.add(dev("use-started", "bool", true));
            l.add(dev("indirect_desc", "bool", true));
            l.add(new Prop("legacy-iothread", "str", null, true, false));
            l.add(dev("iothread", "link<iothread>", ""));
            l.add(dev("deflate-on-oom", "bool", o.deflateOnOom()));
            l.add(dev("free-page-hint", "bool", false));
            l.add(dev("page-poison", "bool", o.pagePoison()));
            l.add(dev("qemu-4-0-config-size", "bool", false));
            l.add(dev("free-page-reporting", "bool", o.freePageReporting()));
            l.add(new Prop("guest-stats-polling-interval", "int", balloon::statsPollInterval, false, false));
            l.add(new Prop("guest-stats", "guest statistics", BalloonDevices.this::guestStats, false, false));
            return l;
        }

        private Prop dev(String name, String type, Object v) {
            return new Prop(name, type, () -> v, true, false);
        }
    }

    @Override
    public void close() {
        if (balloon != null) {
            balloon.setStatsPollInterval(0);
        }
        if (function != null) {
            function.close();
        }
    }
}
