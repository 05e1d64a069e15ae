package dev.jvmm.qmp;

import dev.jvmm.core.event.VmEvent;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The network events' data as QEMU 7.2 sends it: the declared members, absent optional ones left out. */
class QmpNetEventsTest {
    @Test
    void rxFilterChangedLeavesOutAnAbsentName() {
        assertEquals(Map.of("path", "/machine/peripheral-anon/device[0]/virtio-backend"), QmpEvents.data(
                new VmEvent.NicRxFilterChanged(null, "/machine/peripheral-anon/device[0]/virtio-backend")));
        Map<String, Object> both = QmpEvents.data(new VmEvent.NicRxFilterChanged("net0", "/machine/peripheral/net0"));
        assertEquals(Map.of("name", "net0", "path", "/machine/peripheral/net0"), both);
    }

    @Test
    void streamEvents() {
        Map<String, Object> addr = Map.of("type", "unix", "path", "/tmp/s");
        assertEquals(Map.of("netdev-id", "s", "addr", addr),
                QmpEvents.data(new VmEvent.NetdevStreamConnected("s", addr)));
        assertEquals(Map.of("netdev-id", "s"), QmpEvents.data(new VmEvent.NetdevStreamDisconnected("s")));
    }

    @Test
    void eventsAreDeclared() {
        Schema s = new Schema();
        QmpNet.declare(s, dev.jvmm.core.machine.NetControl.NONE);
        for (String e : List.of("NIC_RX_FILTER_CHANGED", "NETDEV_STREAM_CONNECTED", "NETDEV_STREAM_DISCONNECTED",
                "FAILOVER_NEGOTIATED")) {
            assertEquals(e, s.event(e).name());
        }
    }
}
