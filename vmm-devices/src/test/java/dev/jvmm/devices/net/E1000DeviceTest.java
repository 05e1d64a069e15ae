package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.devices.StateSupport;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.Realized;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.List;

import static dev.jvmm.devices.net.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -device e1000 through the device model: netdev, MAC, names, refusals, removal and saved state. */
@Timeout(60)
class E1000DeviceTest {
    private final TestBoard board = new TestBoard();

    @AfterEach
    void close() {
        board.close();
    }

    private static E1000 dev(DeviceModel.Device d) {
        return Realized.device(d.instance(), E1000.class);
    }

    @Test
    void realizeJoinsTheNetdevWithQemusNamesAndDefaultMacs() throws Exception {
        E1000Rig.Peer n0 = new E1000Rig.Peer("n0");
        board.net.add(n0);
        E1000 a = dev(board.add("e1000,romfile=,netdev=n0"));
        E1000 b = dev(board.add("e1000,romfile=,mac=52:54:00:12:34:57"));
        E1000 c = dev(board.add("e1000,romfile=,id=n3"));
        assertEquals("e1000.0", a.nic().name());
        assertSame(n0, a.nic().peer());
        assertSame(a.nic(), n0.peer());
        assertEquals("52:54:00:12:34:56", a.nic().macAddress().toString());
        assertEquals("e1000.1", b.nic().name());
        assertEquals("52:54:00:12:34:57", b.nic().macAddress().toString());
        assertEquals("n3", c.nic().name());
        assertEquals("52:54:00:12:34:58", c.nic().macAddress().toString());
        assertNull(c.nic().peer(), "no netdev: frames go nowhere");
        assertNull(a.nic().rxFilter(), "QEMU 7.2's e1000 has no query-rx-filter");
        assertEquals(List.of(n0, a.nic(), b.nic(), c.nic()), board.net.all());
        int devfn = (int) (long) (Long) board.node("/machine/peripheral-anon/device[0]").get("addr");
        assertSame(a, board.pci.function(devfn >> 3, devfn & 7));
        assertEquals(0x100e8086, board.pci.readConfig(0, devfn, 0, 4));
    }

    @Test
    void refusalsAsQemu() {
        board.net.add(new E1000Rig.Peer("n0"));
        assertEquals("Property 'e1000.mac' doesn't take value 'xyz'", board.refusal("e1000,romfile=,mac=xyz"));
        assertEquals("Property 'e1000.netdev' can't find value 'nope'", board.refusal("e1000,romfile=,netdev=nope"));
        board.add("e1000,romfile=,netdev=n0");
        assertEquals("Property 'e1000.netdev' can't take value 'n0', it's in use",
                board.refusal("e1000,romfile=,netdev=n0"));
        // QEMU's default ROM, which this board's firmware lookup (paths only) does not find
        assertEquals("failed to find romfile \"efi-e1000.rom\"", board.refusal("e1000"));
    }

    @Test
    void closeUnlinksTheNetdevAndRemovesTheNic() {
        E1000Rig.Peer n0 = new E1000Rig.Peer("n0");
        board.net.add(n0);
        DeviceModel.Device d = board.add("e1000,romfile=,netdev=n0,id=nic0");
        NicClient nic = dev(d).nic();
        d.instance().close();
        assertNull(n0.peer());
        assertEquals(List.of(n0), board.net.all());
        assertEquals(List.of(), board.net.named("nic0", true));
        // the netdev can take a new NIC
        E1000 again = dev(board.add("e1000,romfile=,netdev=n0,addr=5"));
        assertSame(n0, again.nic().peer());
        assertEquals("52:54:00:12:34:56", again.nic().macAddress().toString(), "the freed address again");
        assertTrue(nic.peer() == null);
    }

    @Test
    void savedStateRestoresRingsRegistersAndHalfBuiltFrames() throws Exception {
        try (E1000Rig a = new E1000Rig(); E1000Rig b = new E1000Rig()) {
            a.rxRing(8, RCTL_BAM);
            a.txRing(8);
            a.w(IMS, ICR_RXT0 | ICR_TXDW);
            a.w(MTA + 8, 0x1234);
            a.w(MDIC, 1 << 21 | 4 << 16 | MDIC_OP_WRITE | 0x1e1);
            // half a frame: no EOP yet
            byte[] f = E1000Rig.frame("ff:ff:ff:ff:ff:ff", "52:54:00:12:34:56", 0x0806, 46);
            a.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
            a.txDesc(0, E1000Rig.TX_BUF, 20, 0);
            a.w(TDT, 1);
            a.fromPeer(E1000Rig.frame("52:54:00:12:34:56", "52:54:00:00:00:01", 0x0800, 80));
            StateSupport.copy(a.dev, b.dev);
            for (int off = 0; off < E1000.MMIO_SIZE; off += 4) {
                if (off != ICR && off != EECD && E1000MacRegs.readOp(off >> 2) == E1000MacRegs.R_PLAIN) {
                    assertEquals(a.dev.mac[off >> 2], b.dev.mac[off >> 2], "register " + Integer.toHexString(off));
                }
            }
            assertEquals(a.r(ICR), b.r(ICR));
            b.w(MDIC, 1 << 21 | 4 << 16 | MDIC_OP_READ);
            assertEquals(0x1e1, b.r(MDIC) & 0xffff);
            // the rest of the frame on b's ring (b's memory is its own: copy the buffer and descriptor)
            b.mem.write(E1000Rig.TX_BUF, f, 0, f.length);
            b.txDesc(1, E1000Rig.TX_BUF + 20, (f.length - 20) | TXD_CMD_EOP, 0);
            b.w(TDT, 2);
            assertEquals(1, b.peer.frames.size());
            assertArrayEquals(f, b.peer.frames.get(0));
            assertEquals(b.cfg(PciConfigSpace.COMMAND, 2), a.cfg(PciConfigSpace.COMMAND, 2));
            String refused = StateSupport.refusal(b.dev, StateSupport.edit(StateSupport.save(a.dev), "rxbuf-min-shift",
                    w -> w.u8("rxbuf-min-shift", 0)));
            assertTrue(refused.contains("rxbuf-min-shift"), refused);
        }
    }

    @Test
    void frameFromPeerWithoutNetdevIsHarmless() {
        E1000 a = dev(board.add("e1000,romfile="));
        assertEquals(60, a.nic().send(ByteBuffer.wrap(new byte[60])), "no peer: dropped");
        NetClient.connect(a.nic(), null);
        assertEquals(MacAddress.parse("52:54:00:12:34:56"), a.nic().macAddress());
    }
}
