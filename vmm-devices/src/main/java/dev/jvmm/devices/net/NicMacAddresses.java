package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NetClient;
import dev.jvmm.core.net.NetClients;
import dev.jvmm.core.net.NicClient;

/**
 * QEMU 7.2's default NIC addresses (net/net.c qemu_macaddr_default_if_unset): 52:54:00:12:34:NN with NN the
 * first of 0x56..0xfe that no NIC of the machine uses (0xff when all are taken). QEMU keeps a table of the
 * used ones; here the machine's NIC clients are that table, so a deleted NIC frees its address as
 * qemu_del_nic does.
 */
public final class NicMacAddresses {
    /** QEMU's base address 52:54:00:12:34:00. */
    public static final long BASE = 0x5254_0012_3400L;
    private static final int FIRST = 0x56;
    private static final int LAST = 0xfe;

    private NicMacAddresses() {
    }

    /** The address a NIC made now without mac= gets. */
    public static MacAddress next(NetClients net) {
        boolean[] used = new boolean[256];
        for (NetClient c : net.all()) {
            if (c instanceof NicClient nic) {
                long m = nic.macAddress().bits();
                if ((m & ~0xffL) == BASE) {
                    used[(int) (m & 0xff)] = true;
                }
            }
        }
        for (int i = FIRST; i <= LAST; i++) {
            if (!used[i]) {
                return new MacAddress(BASE | i);
            }
        }
        return new MacAddress(BASE | 0xff);
    }
}
