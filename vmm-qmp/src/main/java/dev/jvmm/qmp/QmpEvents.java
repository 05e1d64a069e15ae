package dev.jvmm.qmp;

import dev.jvmm.core.event.VmEvent;

import java.util.LinkedHashMap;
import java.util.Map;

/** Turns core events into QEMU's event messages (name, data members as QEMU 7.2 sends them). */
public final class QmpEvents {
    private QmpEvents() {
    }

    /** The event's "data" object, or null when QEMU sends none. */
    public static Map<String, Object> data(VmEvent e) {
        Map<String, Object> d = new LinkedHashMap<>();
        if (e instanceof VmEvent.Shutdown s) {
            d.put("guest", s.guest());
            d.put("reason", s.reason().qapiName());
        } else if (e instanceof VmEvent.Reset r) {
            d.put("guest", r.guest());
            d.put("reason", r.reason().qapiName());
        } else if (e instanceof VmEvent.GuestPanicked p) {
            d.put("action", p.action());
        } else if (e instanceof VmEvent.Watchdog w) {
            d.put("action", w.action());
        } else if (e instanceof VmEvent.RtcChange r) {
            d.put("offset", r.offset());
            d.put("qom-path", r.qomPath());
        } else if (e instanceof VmEvent.GuestCrashloaded c) {
            d.put("action", c.action());
        } else if (e instanceof VmEvent.BlockIoError b) {
            return QmpBlock.ioError(b);
        } else if (e instanceof VmEvent.DeviceTrayMoved t) {
            return QmpBlock.trayMoved(t);
        } else if (e instanceof VmEvent.VserportChange v) {
            // QEMU 7.2 writes "open" before "id" (its QDict's order)
            d.put("open", v.open());
            d.put("id", v.id());
        } else if (e instanceof VmEvent.BalloonChange b) {
            d.put("actual", b.actual());
        } else if (e instanceof VmEvent.NicRxFilterChanged n) {
            return QDictOrder.of("name", n.nicName(), "path", n.path());
        } else if (e instanceof VmEvent.NetdevStreamConnected c) {
            return QDictOrder.of("netdev-id", c.netdevId(), "addr", c.addr());
        } else if (e instanceof VmEvent.NetdevStreamDisconnected c) {
            return QDictOrder.of("netdev-id", c.netdevId());
        } else if (e instanceof VmEvent.DeviceDeleted x) {
            return QDictOrder.of("device", x.device(), "path", x.path());
        } else if (e instanceof VmEvent.DeviceUnplugGuestError x) {
            return QDictOrder.of("device", x.device(), "path", x.path());
        } else if (e instanceof VmEvent.MemUnplugError x) {
            return QDictOrder.of("device", x.device(), "msg", x.msg());
        } else if (e instanceof VmEvent.AcpiDeviceOst x) {
            return QDictOrder.of("info", QmpHotplug.ostInfo(x.info()));
        } else {
            return null;
        }
        return d;
    }

    /** The full message: {"timestamp": {...}, "event": NAME, "data": {...}}. */
    public static Map<String, Object> message(String name, Map<String, Object> data, long epochMicros) {
        Map<String, Object> ts = new LinkedHashMap<>();
        ts.put("seconds", Math.floorDiv(epochMicros, 1_000_000L));
        ts.put("microseconds", Math.floorMod(epochMicros, 1_000_000L));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timestamp", ts);
        m.put("event", name);
        if (data != null) {
            m.put("data", data);
        }
        return m;
    }
}
