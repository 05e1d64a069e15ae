package dev.jvmm.core.net;

import java.util.List;

/**
 * query-rx-filter's RxFilterInfo for one NIC, QEMU 7.2's fields in its order; multicast, unicast and vlan
 * are RxState names: "normal", "none" or "all".
 */
public record RxFilterInfo(String name, boolean promiscuous, String multicast, String unicast, String vlan,
        boolean broadcastAllowed, boolean multicastOverflow, boolean unicastOverflow, String mainMac,
        List<Integer> vlanTable, List<String> unicastTable, List<String> multicastTable) {
}
