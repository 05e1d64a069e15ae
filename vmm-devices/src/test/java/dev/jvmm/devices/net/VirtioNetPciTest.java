package dev.jvmm.devices.net;

import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClientKind;
import dev.jvmm.core.net.Netdev;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.virtio.VirtioPciTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -device virtio-net-pci through the device model (no KVM needed): QEMU 7.2's refusals and their order, the
 * NIC clients it adds to the machine's net clients (names, default addresses, peers), the realized values
 * qom-get shows, and what closing the device leaves.
 */
class VirtioNetPciTest {
    final TestBoard board = new TestBoard();

    @AfterEach
    void close() {
        board.close();
    }

    /** A netdev queue as -netdev user makes it. */
    static final class Backend extends NetClient {
        Backend(String id, int index) {
            super(id, "user", NetClientKind.NETDEV, index);
        }

        @Override
        public String infoString() {
            return "net=10.0.2.0,restrict=off";
        }

        @Override
        protected int receive(ByteBuffer frame) {
            return frame.remaining();
        }
    }

    Backend netdev(String id) {
        Backend b = new Backend(id, 0);
        board.net.add(new Netdev(id, "user", List.of(b)));
        return b;
    }

    @Test
    void refusalsAsQemu() {
        netdev("n0");
        assertEquals("Property 'virtio-net-device.mac' doesn't take value 'zz'", board.refusal("virtio-net-pci,mac=zz"));
        assertEquals("Property 'virtio-net-device.mac' doesn't take value '52:54:00:12:34'",
                board.refusal("virtio-net-pci,mac=52:54:00:12:34"));
        assertEquals("Property 'virtio-net-device.netdev' can't find value 'nope'",
                board.refusal("virtio-net-pci,netdev=nope"));
        assertEquals("'duplex' must be 'half' or 'full'", board.refusal("virtio-net-pci,duplex=foo"));
        assertEquals("'speed' must be between 0 and INT_MAX", board.refusal("virtio-net-pci,speed=-2"));
        assertEquals("Invalid rx_queue_size (= 100), must be a power of 2 between 256 and 1024.",
                board.refusal("virtio-net-pci,rx_queue_size=100"));
        assertEquals("Invalid tx_queue_size (= 2048), must be a power of 2 between 256 and 1024",
                board.refusal("virtio-net-pci,tx_queue_size=2048"));
        assertTrue(board.refusal("virtio-net-pci,rss=on").contains("rss"));
        assertTrue(board.model.devices().isEmpty(), "nothing left behind");
        assertEquals(List.of("n0"), board.net.all().stream().map(NetClient::name).toList());
        board.add("virtio-net-pci,netdev=n0,id=a");
        assertEquals("Property 'virtio-net-device.netdev' can't take value 'n0', it's in use",
                board.refusal("virtio-net-pci,netdev=n0"));
    }

    @Test
    void nicsJoinTheNetLikeQemus() throws Exception {
        Backend n0 = netdev("n0");
        board.add("virtio-net-pci,netdev=n0,id=a");
        board.add("virtio-net-pci,mac=52:54:00:12:34:57");
        board.add("virtio-net,addr=7");
        List<NetClient> nics = board.net.all().stream().filter(c -> c.kind() == NetClientKind.NIC).toList();
        assertEquals(List.of("a", "virtio-net-pci.1", "virtio-net-pci.2"), nics.stream().map(NetClient::name).toList());
        assertEquals(List.of("52:54:00:12:34:56", "52:54:00:12:34:57", "52:54:00:12:34:58"),
                nics.stream().map(c -> ((NicClient) c).macAddress().toString()).toList());
        assertEquals("model=virtio-net-pci,macaddr=52:54:00:12:34:56", nics.get(0).infoString());
        assertSame(n0, nics.get(0).peer());
        assertSame(nics.get(0), n0.peer());
        assertNull(nics.get(1).peer());
        assertEquals("52:54:00:12:34:56", board.node("/machine/peripheral/a").get("mac"));
        assertEquals("52:54:00:12:34:56", board.node("/machine/peripheral/a/virtio-backend").get("mac"));
        assertEquals(4L, board.node("/machine/peripheral/a").get("vectors"));
        VirtioPciTransport f = Realized.device(board.model.devices().get(0).instance(), VirtioPciTransport.class);
        assertEquals(0x1af4 | 0x1041 << 16, f.readConfig(0, 4));
        assertEquals(0x020000, f.readConfig(8, 4) >>> 8);
        assertEquals("Ethernet controller", f.description());
        // closing the device takes its NIC out and frees the netdev
        board.model.closeAll();
        assertEquals(List.of("n0"), board.net.all().stream().map(NetClient::name).toList());
        assertNull(n0.peer());
    }

    @Test
    void vectorsFollowTheQueuePairs() throws Exception {
        netdev("n0");
        board.add("virtio-net-pci,netdev=n0,id=a,vectors=2");
        assertEquals(2L, board.node("/machine/peripheral/a").get("vectors"));
        VirtioPciTransport f = Realized.device(board.model.devices().get(0).instance(), VirtioPciTransport.class);
        // MSI-X capability: table size - 1 in the message control word
        int cap = f.readConfig(0x34, 1);
        while (cap != 0 && (f.readConfig(cap, 1) & 0xff) != 0x11) {
            cap = f.readConfig(cap + 1, 1);
        }
        assertEquals(1, f.readConfig(cap + 2, 2) & 0x7ff);
    }
}
