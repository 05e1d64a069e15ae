package dev.jvmm.core.net;

import dev.jvmm.core.event.EventBus;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Small net clients for the net layer's tests: a NIC and a backend that record what reaches them. */
final class TestClients {
    private TestClients() {
    }

    static final class Nic extends NicClient {
        final List<byte[]> got = new ArrayList<>();
        final MacAddress mac;
        RxFilterInfo filter;
        int linkChanges;

        Nic(String name, String model, MacAddress mac) {
            super(name, model, 0);
            this.mac = mac;
        }

        @Override
        public MacAddress macAddress() {
            return mac;
        }

        @Override
        public RxFilterInfo rxFilter() {
            return filter;
        }

        @Override
        protected void linkStatusChanged() {
            linkChanges++;
        }

        @Override
        protected int receive(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.get(b);
            got.add(b);
            return b.length;
        }
    }

    static final class Backend extends NetClient {
        final List<byte[]> got = new ArrayList<>();
        boolean closed;
        int linkChanges;

        Backend(String name, String model) {
            super(name, model, NetClientKind.NETDEV, 0);
        }

        @Override
        public String infoString() {
            return "net=10.0.2.0,restrict=off";
        }

        @Override
        protected void linkStatusChanged() {
            linkChanges++;
        }

        @Override
        protected int receive(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.get(b);
            got.add(b);
            return b.length;
        }

        @Override
        protected void cleanup() {
            closed = true;
        }
    }

    /** A "user"-named test backend type for the registry. */
    static final NetdevFactory USER = (opts, ctx) -> {
        opts.requireOnly(java.util.Set.of());
        return new Netdev(opts.id(), "user", List.of(new Backend(opts.id(), "user")));
    };

    static NetdevContext context(NetClients net) {
        return new NetdevContext() {
            @Override
            public EventBus events() {
                return new EventBus();
            }

            @Override
            public int fd(String nameOrNumber) throws NetdevException {
                throw new NetdevException("no fds here");
            }

            @Override
            public NetClients net() {
                return net;
            }
        };
    }

    static ByteBuffer frame(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return ByteBuffer.wrap(b);
    }
}
