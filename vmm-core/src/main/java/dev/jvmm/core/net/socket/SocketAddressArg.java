package dev.jvmm.core.net.socket;

import dev.jvmm.core.net.NetdevException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;

/**
 * A QAPI SocketAddress argument (stream's addr=, dgram's local= and remote=): type inet (host, port), unix
 * (path) or fd (str), read from dotted command-line keys or a JSON object with QEMU's visitor messages.
 */
record SocketAddressArg(String type, String host, String port, String path, String fdName) {

    static SocketAddressArg parse(String key, Map<String, Object> m) throws NetdevException {
        String type = str(key, "type", m, true);
        switch (type) {
            case "inet":
                return new SocketAddressArg(type, str(key, "host", m, true), str(key, "port", m, true), null, null);
            case "unix":
                return new SocketAddressArg(type, null, null, str(key, "path", m, true), null);
            case "fd":
                return new SocketAddressArg(type, null, null, null, str(key, "str", m, true));
            case "vsock":
                throw new NetdevException("vsock addresses are not supported by -netdev " + key);
            default:
                throw new NetdevException("Parameter 'type' does not accept value '" + type + "'");
        }
    }

    private static String str(String key, String member, Map<String, Object> m, boolean required)
            throws NetdevException {
        Object v = m.get(member);
        if (v == null) {
            if (required) {
                throw new NetdevException("Parameter '" + key + "." + member + "' is missing");
            }
            return null;
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Number n) {
            return n.toString();
        }
        throw new NetdevException("Invalid parameter type for '" + key + "." + member + "', expected: string");
    }

    /** The inet address, resolved (IPv4 preferred, as QEMU's inet_parse with ipv4 default). */
    InetSocketAddress inet() throws NetdevException {
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new NetdevException("address resolution failed for " + host + ":" + port
                    + ": Servname not supported for ai_socktype");
        }
        if (p < 0 || p > 65535) {
            throw new NetdevException("address resolution failed for " + host + ":" + port
                    + ": Servname not supported for ai_socktype");
        }
        try {
            InetAddress a = host.isEmpty() ? InetAddress.getByAddress(new byte[4]) : InetAddress.getByName(host);
            return new InetSocketAddress(a, p);
        } catch (UnknownHostException e) {
            throw new NetdevException("address resolution failed for " + host + ":" + port
                    + ": Name or service not known");
        }
    }

    /** QAPI's SocketAddress as QEMU 7.2 reports a peer in NETDEV_STREAM_CONNECTED (with ipv4 or ipv6: true). */
    static Map<String, Object> inetJson(InetSocketAddress a) {
        String family = a.getAddress() instanceof java.net.Inet6Address ? "ipv6" : "ipv4";
        return Map.of("type", "inet", "host", a.getAddress().getHostAddress(), "port",
                Integer.toString(a.getPort()), family, true);
    }
}
