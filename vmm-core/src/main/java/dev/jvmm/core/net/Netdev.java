package dev.jvmm.core.net;

import java.util.List;

/**
 * One backend made by -netdev or netdev_add: its id, QEMU's type name ("tap", "user", "socket", "stream",
 * "dgram", "hubport") and its queues, one {@link NetClient} each (several for tap with queues=N).
 */
public record Netdev(String id, String type, List<NetClient> queues) {
    public Netdev {
        queues = List.copyOf(queues);
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("a netdev has at least one queue");
        }
    }
}
