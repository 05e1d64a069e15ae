package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.RxFilterInfo;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Virtio 1.1, section 5.1.6.5.1 and 5.1.6.5.2: the receive filter virtio-net's control queue sets (RX modes,
 * MAC table, VLAN table) and the test every received frame passes, as QEMU 7.2's receive_filter and
 * virtio_net_query_rxfilter. Not thread-safe: {@link VirtioNet}'s lock guards it.
 */
final class VirtioNetRxFilter {
    /** QEMU's MAC_TABLE_ENTRIES. */
    static final int MAC_TABLE_ENTRIES = 64;
    /** QEMU's MAX_VLAN: 802.1Q VLAN ids. */
    static final int MAX_VLAN = 1 << 12;
    static final int ETH_ALEN = 6;

    boolean promisc = true;
    boolean allmulti;
    boolean alluni;
    boolean nomulti;
    boolean nouni;
    boolean nobcast;
    int inUse;
    int firstMulti;
    boolean uniOverflow;
    boolean multiOverflow;
    final byte[] macs = new byte[MAC_TABLE_ENTRIES * ETH_ALEN];
    final int[] vlans = new int[MAX_VLAN >> 5];
    /** The address the guest uses now (config mac, CTRL_MAC_ADDR_SET). */
    final byte[] mac = new byte[ETH_ALEN];

    /** QEMU's virtio_net_reset: compatibility mode (promiscuous), empty tables, the configured address. */
    void reset(MacAddress configured) {
        promisc = true;
        allmulti = false;
        alluni = false;
        nomulti = false;
        nouni = false;
        nobcast = false;
        inUse = 0;
        firstMulti = 0;
        uniOverflow = false;
        multiOverflow = false;
        Arrays.fill(macs, (byte) 0);
        Arrays.fill(vlans, 0);
        System.arraycopy(configured.bytes(), 0, mac, 0, ETH_ALEN);
    }

    /** Every VLAN passes (CTRL_VLAN not negotiated) or none until the driver adds them. */
    void setAllVlans(boolean pass) {
        Arrays.fill(vlans, pass ? -1 : 0);
    }

    void setVlan(int vid, boolean on) {
        if (on) {
            vlans[vid >> 5] |= 1 << (vid & 0x1f);
        } else {
            vlans[vid >> 5] &= ~(1 << (vid & 0x1f));
        }
    }

    /** QEMU's receive_filter for frame (position to limit), whose first hdrLen bytes are a vnet header. */
    boolean accept(ByteBuffer frame, int hdrLen) {
        if (promisc) {
            return true;
        }
        int p = frame.position() + hdrLen;
        if (byteAt(frame, p + 12) == 0x81 && byteAt(frame, p + 13) == 0x00) {
            int vid = (byteAt(frame, p + 14) << 8 | byteAt(frame, p + 15)) & 0xfff;
            if ((vlans[vid >> 5] & (1 << (vid & 0x1f))) == 0) {
                return false;
            }
        }
        if ((byteAt(frame, p) & 1) != 0) {
            if (isBroadcast(frame, p)) {
                return !nobcast;
            }
            if (nomulti) {
                return false;
            }
            if (allmulti || multiOverflow) {
                return true;
            }
            return inTable(frame, p, firstMulti, inUse);
        }
        if (nouni) {
            return false;
        }
        if (alluni || uniOverflow || matches(frame, p, mac, 0)) {
            return true;
        }
        return inTable(frame, p, 0, firstMulti);
    }

    private boolean inTable(ByteBuffer f, int p, int from, int to) {
        for (int i = from; i < to; i++) {
            if (matches(f, p, macs, i * ETH_ALEN)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isBroadcast(ByteBuffer f, int p) {
        for (int i = 0; i < ETH_ALEN; i++) {
            if (byteAt(f, p + i) != 0xff) {
                return false;
            }
        }
        return true;
    }

    private static boolean matches(ByteBuffer f, int p, byte[] table, int off) {
        for (int i = 0; i < ETH_ALEN; i++) {
            if (byteAt(f, p + i) != (table[off + i] & 0xff)) {
                return false;
            }
        }
        return true;
    }

    /** A byte of the frame; bytes past a runt frame's end read as 0 (QEMU reads its buffer there). */
    private static int byteAt(ByteBuffer f, int i) {
        return i < f.limit() ? f.get(i) & 0xff : 0;
    }

    /** The RX mode command's flag (VIRTIO_NET_CTRL_RX_*); false for an unknown command. */
    boolean setMode(int cmd, boolean on) {
        switch (cmd) {
            case VirtioNet.VIRTIO_NET_CTRL_RX_PROMISC -> promisc = on;
            case VirtioNet.VIRTIO_NET_CTRL_RX_ALLMULTI -> allmulti = on;
            case VirtioNet.VIRTIO_NET_CTRL_RX_ALLUNI -> alluni = on;
            case VirtioNet.VIRTIO_NET_CTRL_RX_NOMULTI -> nomulti = on;
            case VirtioNet.VIRTIO_NET_CTRL_RX_NOUNI -> nouni = on;
            case VirtioNet.VIRTIO_NET_CTRL_RX_NOBCAST -> nobcast = on;
            default -> {
                return false;
            }
        }
        return true;
    }

    MacAddress macAddress() {
        return MacAddress.of(mac, 0);
    }

    /** QEMU's virtio_net_query_rxfilter (tables listed newest first, as QAPI_LIST_PREPEND builds them). */
    RxFilterInfo info(String name, boolean ctrlVlan) {
        List<String> uni = new ArrayList<>();
        for (int i = firstMulti - 1; i >= 0; i--) {
            uni.add(MacAddress.of(macs, i * ETH_ALEN).toString());
        }
        List<String> multi = new ArrayList<>();
        for (int i = inUse - 1; i >= firstMulti; i--) {
            multi.add(MacAddress.of(macs, i * ETH_ALEN).toString());
        }
        List<Integer> vlanTable = new ArrayList<>();
        for (int i = 0; i < MAX_VLAN >> 5; i++) {
            for (int j = 0; vlans[i] != 0 && j <= 0x1f; j++) {
                if ((vlans[i] & (1 << j)) != 0) {
                    vlanTable.add(0, (i << 5) + j);
                }
            }
        }
        String vlan = !ctrlVlan ? "all" : vlanTable.isEmpty() ? "none" : "normal";
        return new RxFilterInfo(name, promisc, nomulti ? "none" : allmulti ? "all" : "normal",
                nouni ? "none" : alluni ? "all" : "normal", vlan,
                // QEMU 7.2 reports nobcast as broadcast-allowed
                nobcast, multiOverflow, uniOverflow, macAddress().toString(), vlanTable, uni, multi);
    }

    void save(StateWriter w) {
        w.bytes("mac", mac).bool("promisc", promisc).bool("allmulti", allmulti).bool("alluni", alluni)
                .bool("nomulti", nomulti).bool("nouni", nouni).bool("nobcast", nobcast)
                .u32("mac-table-in-use", inUse).u32("mac-table-first-multi", firstMulti)
                .bool("uni-overflow", uniOverflow).bool("multi-overflow", multiOverflow)
                .bytes("mac-table", macs, 0, inUse * ETH_ALEN);
        byte[] v = new byte[MAX_VLAN >> 3];
        for (int i = 0; i < vlans.length; i++) {
            v[4 * i] = (byte) vlans[i];
            v[4 * i + 1] = (byte) (vlans[i] >>> 8);
            v[4 * i + 2] = (byte) (vlans[i] >>> 16);
            v[4 * i + 3] = (byte) (vlans[i] >>> 24);
        }
        w.bytes("vlans", v);
    }

    void load(StateReader r) throws StateException {
        byte[] m = r.bytes("mac");
        if (m.length != ETH_ALEN) {
            throw r.invalid("mac", m.length + " bytes");
        }
        boolean[] modes = new boolean[6];
        String[] names = {"promisc", "allmulti", "alluni", "nomulti", "nouni", "nobcast"};
        for (int i = 0; i < modes.length; i++) {
            modes[i] = r.bool(names[i]);
        }
        int use = r.u32("mac-table-in-use", 0, MAC_TABLE_ENTRIES);
        int first = r.u32("mac-table-first-multi", 0, use);
        boolean uo = r.bool("uni-overflow");
        boolean mo = r.bool("multi-overflow");
        byte[] table = r.bytes("mac-table");
        if (table.length != use * ETH_ALEN) {
            throw r.invalid("mac-table", table.length + " bytes for " + use + " entries");
        }
        byte[] v = r.bytes("vlans");
        if (v.length != MAX_VLAN >> 3) {
            throw r.invalid("vlans", v.length + " bytes");
        }
        System.arraycopy(m, 0, mac, 0, ETH_ALEN);
        promisc = modes[0];
        allmulti = modes[1];
        alluni = modes[2];
        nomulti = modes[3];
        nouni = modes[4];
        nobcast = modes[5];
        inUse = use;
        firstMulti = first;
        uniOverflow = uo;
        multiOverflow = mo;
        Arrays.fill(macs, (byte) 0);
        System.arraycopy(table, 0, macs, 0, table.length);
        for (int i = 0; i < vlans.length; i++) {
            vlans[i] = (v[4 * i] & 0xff) | (v[4 * i + 1] & 0xff) << 8 | (v[4 * i + 2] & 0xff) << 16
                    | (v[4 * i + 3] & 0xff) << 24;
        }
    }
}
