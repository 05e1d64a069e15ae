package dev.jvmm.devices.virtio;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceContext;
import dev.jvmm.devices.model.DeviceInstance;
import dev.jvmm.devices.model.Placement;
import dev.jvmm.devices.pci.OptionRom;
import dev.jvmm.devices.pci.PciBar;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code -device virtio-balloon-pci} (alias virtio-balloon): a {@link VirtioBalloon} behind the modern
 * virtio-pci transport, at most one per machine as in QEMU. Its node and its virtio-backend child carry the
 * live guest-stats and guest-stats-polling-interval; the proxy's are aliases of the backend's, as in QEMU.
 * QMP's balloon commands reach it through {@link BalloonHandle}.
 */
public final class VirtioBalloonPci {
    private VirtioBalloonPci() {
    }

    private static final String POLL_INTERVAL = "guest-stats-polling-interval";
    private static final String STATS = "guest-stats";

    public static final TypeInfo BASE = VirtioTypes.pciBase("virtio-balloon");

    public static final TypeInfo TYPE = VirtioTypes.pciGeneric("virtio-balloon", VirtioBalloon.TYPE.name())
            .category("Misc").build();

    public static final DeviceClass CLASS = new DeviceClass(TYPE, VirtioBalloonPci::realize,
            List.of("virtio-balloon"));

    /**
     * QEMU's order: the polling interval (checked when the property is set), the PCI slot (taken before the
     * proxy realizes), then the backend's balloon handler and free-page-hint.
     */
    private static DeviceInstance realize(DeviceContext ctx, PropertyValues p, Placement where)
            throws PropertyException {
        long interval = p.get(POLL_INTERVAL).map(Long.class::cast).orElse(0L);
        try {
            VirtioBalloon.checkPollInterval(interval);
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e.getMessage());
        }
        PciBus pci = where.bus().owner(PciBus.class);
        PciPlacement at = PciPlacement.choose(pci, TYPE.name(), p.number("addr"));
        if (BalloonHandle.of(where.model()).isPresent()) {
            throw new PropertyException("Only one balloon device is supported");
        }
        if (p.bool("free-page-hint")) {
            throw new PropertyException("'free-page-hint' requires 'iothread' to be set");
        }
        VirtioBalloonOptions opts = new VirtioBalloonOptions(where.idOrEmpty(), p.bool("deflate-on-oom"),
                p.bool("page-poison"), p.bool("free-page-reporting"));
        VirtioBalloon b = new VirtioBalloon(opts, ctx.ramSize(),
                actual -> ctx.events().publish(new VmEvent.BalloonChange(actual)), ctx.clock());
        Optional<PciBar> rom = OptionRom.load(ctx, p, b.pciClassCode() >>> 8);
        VirtioPciTransport f = VirtioBalloon.pci(ctx.memory(), b, ctx.msi(), ctx.ioevents());
        f.addOptionRom(rom);
        pci.add(at.slot(), at.function(), f);
        // polling asks the device thread for statistics, so it starts once the transport exists
        b.setStatsPollInterval(interval);

        QomNode node = where.node();
        at.describe(node);
        QomNode backend = VirtioTypes.addBackend(where, p);
        backend.addProperty(POLL_INTERVAL, "int", b::statsPollInterval, v -> setPollInterval(b, v));
        backend.addProperty(STATS, "guest statistics", () -> guestStats(b), null);
        for (String alias : List.of(POLL_INTERVAL, STATS)) {
            node.addProperty(alias, alias.equals(STATS) ? "guest statistics" : "int", () -> backend.get(alias),
                    v -> backend.set(alias, v));
        }
        return new BalloonHandle(b, f);
    }

    /** QEMU's balloon_stats_set_poll_interval. */
    private static void setPollInterval(VirtioBalloon b, Object v) throws PropertyException {
        if (!(v instanceof Long seconds)) {
            throw new PropertyException("Invalid parameter type for '" + POLL_INTERVAL + "', expected: integer");
        }
        try {
            b.setStatsPollInterval(seconds);
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e.getMessage());
        }
    }

    /** guest-stats as QEMU's balloon_stats_get_all visits it: last-update, then stats (uint64 each). */
    private static Map<String, Object> guestStats(VirtioBalloon b) {
        VirtioBalloon.GuestStats s = b.guestStats();
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
}
