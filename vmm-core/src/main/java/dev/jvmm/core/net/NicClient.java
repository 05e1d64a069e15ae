package dev.jvmm.core.net;

import java.nio.ByteBuffer;

/**
 * A NIC's queue as the net layer sees it (QEMU's NICState): its MAC address, its receive filter for
 * query-rx-filter and its part in announce-self.
 */
public abstract class NicClient extends NetClient {
    protected NicClient(String name, String model, int queueIndex) {
        super(name, model, NetClientKind.NIC, queueIndex);
    }

    /** The address the guest uses now (the "mac" property until the guest changes it). */
    public abstract MacAddress macAddress();

    /** query-rx-filter's entry; null for NICs without RX-filter reporting (QEMU: "invalid net client"). */
    public RxFilterInfo rxFilter() {
        return null;
    }

    @Override
    public String infoString() {
        return "model=" + model() + ",macaddr=" + macAddress();
    }

    /**
     * One announce-self round (QEMU's qemu_announce_self_iter): a NIC that announces itself through its guest
     * (virtio-net's GUEST_ANNOUNCE) overrides this; the default sends a gratuitous RARP from the MAC.
     */
    public void announce() {
        send(ByteBuffer.wrap(rarp(macAddress())));
    }

    /** QEMU's announce_self_create: a 60-byte RARP reverse request from mac, padded. */
    public static byte[] rarp(MacAddress mac) {
        byte[] f = new byte[60];
        byte[] m = mac.bytes();
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) 0xff;
            f[6 + i] = m[i];
            f[22 + i] = m[i];
            f[32 + i] = m[i];
        }
        f[12] = (byte) 0x80;
        f[13] = 0x35; // ethertype RARP
        f[14] = 0x00;
        f[15] = 0x01; // hardware type Ethernet
        f[16] = 0x08;
        f[17] = 0x00; // protocol IPv4
        f[18] = 6;
        f[19] = 4;
        f[20] = 0x00;
        f[21] = 0x03; // opcode: reverse request
        return f;
    }
}
