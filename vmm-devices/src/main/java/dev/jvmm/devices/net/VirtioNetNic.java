package dev.jvmm.devices.net;

import dev.jvmm.core.net.MacAddress;
import dev.jvmm.core.net.NicClient;
import dev.jvmm.core.net.RxFilterInfo;

import java.nio.ByteBuffer;

/**
 * One queue pair of a {@link VirtioNet} as the net layer sees it (QEMU's net_virtio_info on nic->ncs[i]):
 * frames from the peer go into the pair's receive buffers, the link state into the STATUS field.
 */
final class VirtioNetNic extends NicClient {
    private final VirtioNet dev;

    VirtioNetNic(VirtioNet dev, String name, int pair) {
        super(name, VirtioNet.MODEL, pair);
        this.dev = dev;
    }

    @Override
    public MacAddress macAddress() {
        return dev.macAddress();
    }

    @Override
    public boolean canReceive() {
        return dev.canReceive(queueIndex());
    }

    @Override
    protected int receive(ByteBuffer frame) {
        return dev.receive(queueIndex(), frame);
    }

    @Override
    protected void linkStatusChanged() {
        dev.linkChanged(isLinkDown());
    }

    @Override
    public RxFilterInfo rxFilter() {
        return dev.rxFilter(name());
    }

    /** The NIC announces itself once, through its first queue, as QEMU's announce_self does per NIC. */
    @Override
    public void announce() {
        if (queueIndex() == 0) {
            dev.announce();
        }
    }
}
