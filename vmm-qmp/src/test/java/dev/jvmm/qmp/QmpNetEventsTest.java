package dev.jvmm.qmp;

import dev.jvmm.core.event.VmEvent;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * NIC_RX_FILTER_CHANGED as QEMU 7.2 sends it: "name" (the NIC's id, left out when it has none) before "path"
 * (QEMU's QDict order), and its declaration in the schema.
 */
class QmpNetEventsTest {
    @Test
    void nicRxFilterChanged() {
        VmEvent e = new VmEvent.NicRxFilterChanged("net0", "/machine/peripheral/net0/virtio-backend");
        assertEquals("NIC_RX_FILTER_CHANGED", e.name());
        assertEquals("{\"name\": \"net0\", \"path\": \"/machine/peripheral/net0/virtio-backend\"}",
                Json.toString(QmpEvents.data(e)));
        VmEvent anon = new VmEvent.NicRxFilterChanged(null, "/machine/peripheral-anon/device[0]/virtio-backend");
        assertEquals("{\"path\": \"/machine/peripheral-anon/device[0]/virtio-backend\"}",
                Json.toString(QmpEvents.data(anon)));
    }
}
