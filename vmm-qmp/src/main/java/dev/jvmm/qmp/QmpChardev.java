package dev.jvmm.qmp;

import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.MachineCommandException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * chardev-add, chardev-remove and chardev-change with QEMU 7.2's arguments (the ChardevBackend union with
 * every backend kind QEMU knows, each variant's members in a "data" wrapper), answers and errors. The backend
 * reaches the machine as -chardev's options; a socket's fd names a descriptor this client passed with getfd.
 */
final class QmpChardev {
    private QmpChardev() {
    }

    /** monitors: the QMP sockets' own chardevs, which a frontend (the monitor) always holds. */
    static void declare(Schema s, ChardevControl chardevs, Supplier<List<ChardevInfo>> monitors) {
        QType.Struct backend = backend();
        QType.Struct ret = QType.struct("ChardevReturn", opt("pty", QType.STR));
        s.command("chardev-add", QType.struct("q_obj_chardev-add-arg", req("id", QType.STR),
                req("backend", backend)), ret, (a, session) -> {
                    String id = (String) a.get("id");
                    String prefix = "Failed to add chardev '" + id + "': ";
                    // a taken id is refused before a passed descriptor is looked at, which then stays the client's
                    if (isMonitor(monitors, id) || chardevs.list().stream().anyMatch(c -> c.label().equals(id))) {
                        throw MachineCommandException.generic("Chardev with id '" + id + "' already exists");
                    }
                    return reply(chardevs.add(id, options(backend(a), session, prefix)));
                });
        s.command("chardev-change", QType.struct("q_obj_chardev-change-arg", req("id", QType.STR),
                req("backend", backend)), ret, (a, session) -> {
                    String id = (String) a.get("id");
                    if (isMonitor(monitors, id)) {
                        throw MachineCommandException.generic("Chardev user does not support chardev hotswap");
                    }
                    return reply(chardevs.change(id, options(backend(a), session, "")));
                });
        s.action("chardev-remove", QType.struct("q_obj_chardev-remove-arg", req("id", QType.STR)), a -> {
            String id = (String) a.get("id");
            if (isMonitor(monitors, id)) {
                throw MachineCommandException.generic("Chardev '" + id + "' is busy");
            }
            chardevs.remove(id);
        });
    }

    private static boolean isMonitor(Supplier<List<ChardevInfo>> monitors, String id) {
        return monitors.get().stream().anyMatch(c -> c.label().equals(id));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> backend(Map<String, Object> args) {
        return (Map<String, Object>) args.get("backend");
    }

    private static Map<String, Object> reply(Optional<String> pty) {
        Map<String, Object> r = new LinkedHashMap<>();
        pty.ifPresent(p -> r.put("pty", p));
        return r;
    }

    /**
     * The backend as -chardev's options. Members QEMU has and jvmm does not implement are refused by name;
     * a socket's fd is taken from the client's getfd descriptors (consumed, as QEMU's monitor_get_fd).
     */
    @SuppressWarnings("unchecked")
    private static Map<String, String> options(Map<String, Object> backend, QmpSession session, String prefix)
            throws MachineCommandException {
        String type = (String) backend.get("type");
        Map<String, Object> data = new LinkedHashMap<>((Map<String, Object>) backend.get("data"));
        Map<String, String> o = new LinkedHashMap<>();
        o.put("backend", type);
        switch (type) {
            case "file" -> {
                o.put("path", (String) data.remove("out"));
                onOff(o, "append", data.remove("append"));
            }
            case "stdio" -> onOff(o, "signal", data.remove("signal"));
            case "socket" -> {
                Map<String, Object> addr = (Map<String, Object>) data.remove("addr");
                Map<String, Object> where = (Map<String, Object>) addr.get("data");
                switch ((String) addr.get("type")) {
                    case "unix" -> {
                        o.put("path", (String) where.get("path"));
                        if (Boolean.TRUE.equals(where.get("abstract"))) {
                            throw unsupported(prefix, "abstract");
                        }
                    }
                    case "fd" -> {
                        String name = (String) where.get("str");
                        int fd;
                        try {
                            // without a client (an internal call) there is no monitor and so no descriptor
                            fd = (session == null ? new dev.jvmm.core.fd.NamedFds() : session.namedFds()).take(name);
                        } catch (MachineCommandException e) {
                            throw MachineCommandException.generic(prefix + e.getMessage());
                        }
                        o.put("fd", Integer.toString(fd));
                        o.put(ChardevFactory.FD_NAME, name);
                    }
                    default -> throw MachineCommandException.generic(prefix + "chardev: socket: "
                            + addr.get("type") + " sockets are not supported by jvmm; use a UNIX path or fd");
                }
                // QMP's defaults differ from -chardev's: a server that does not wait for its first client
                boolean server = !Boolean.FALSE.equals(data.remove("server"));
                o.put("server", server ? "on" : "off");
                Object wait = data.remove("wait");
                if (wait != null || server) {
                    onOff(o, "wait", wait == null ? Boolean.FALSE : wait);
                }
                Object reconnect = data.remove("reconnect");
                if (reconnect != null) {
                    o.put("reconnect", reconnect.toString());
                }
                if (Boolean.FALSE.equals(data.get("nodelay"))) {
                    data.remove("nodelay");
                }
            }
            default -> {
            }
        }
        for (Map.Entry<String, Object> e : data.entrySet()) {
            if (!Boolean.FALSE.equals(e.getValue())) {
                throw unsupported(prefix, e.getKey());
            }
        }
        return o;
    }

    private static void onOff(Map<String, String> o, String key, Object v) {
        if (v != null) {
            o.put(key, Boolean.TRUE.equals(v) ? "on" : "off");
        }
    }

    private static MachineCommandException unsupported(String prefix, String member) {
        return MachineCommandException.generic(prefix + "chardev: " + member + " is not supported by jvmm");
    }

    /** QEMU 7.2's ChardevBackend: a union on type whose variants hold their members under "data". */
    static QType.Struct backend() {
        QType str = QType.STR;
        QType bool = QType.BOOL;
        QType num = QType.INT;
        QType.Struct hostdev = common("ChardevHostdev", req("device", str));
        QType.Struct common = common("ChardevCommon");
        QType.Struct ringbuf = common("ChardevRingbuf", opt("size", num));
        List<QType.Variant> variants = List.of(
                wrapped("file", common("ChardevFile", opt("in", str), req("out", str), opt("append", bool))),
                wrapped("serial", hostdev), wrapped("parallel", hostdev), wrapped("pipe", hostdev),
                wrapped("socket", common("ChardevSocket", req("addr", socketAddressLegacy()),
                        opt("tls-creds", str), opt("tls-authz", str), opt("server", bool), opt("wait", bool),
                        opt("nodelay", bool), opt("telnet", bool), opt("tn3270", bool), opt("websocket", bool),
                        opt("reconnect", num))),
                wrapped("udp", common("ChardevUdp", req("remote", socketAddressLegacy()),
                        opt("local", socketAddressLegacy()))),
                wrapped("pty", common), wrapped("null", common),
                wrapped("mux", common("ChardevMux", req("chardev", str))),
                wrapped("msmouse", common), wrapped("wctablet", common), wrapped("braille", common),
                wrapped("testdev", common),
                wrapped("stdio", common("ChardevStdio", opt("signal", bool))),
                wrapped("console", common),
                wrapped("spicevmc", common("ChardevSpiceChannel", req("type", str))),
                wrapped("spiceport", common("ChardevSpicePort", req("fqdn", str))),
                wrapped("qemu-vdagent", common("ChardevQemuVDAgent", opt("mouse", bool), opt("clipboard", bool))),
                wrapped("dbus", common("ChardevDBus", req("name", str))),
                wrapped("vc", common("ChardevVC", opt("width", num), opt("height", num), opt("cols", num),
                        opt("rows", num))),
                wrapped("ringbuf", ringbuf), wrapped("memory", ringbuf));
        return QType.union("ChardevBackend", List.of(req("type", new QType.Enum("ChardevBackendKind",
                variants.stream().map(QType.Variant::name).toList()))), "type", variants);
    }

    /** SocketAddressLegacy: SocketAddress's cases, each under "data". */
    private static QType.Struct socketAddressLegacy() {
        QType.Struct flat = QmpNet.socketAddress();
        List<QType.Variant> variants = flat.variants().stream()
                .map(v -> wrapped(v.name(), v.type())).toList();
        return QType.union("SocketAddressLegacy", List.of(req("type", new QType.Enum("SocketAddressType",
                variants.stream().map(QType.Variant::name).toList()))), "type", variants);
    }

    /** ChardevCommon's members (logfile, logappend) first, then the backend's own. */
    private static QType.Struct common(String name, QType.Member... own) {
        List<QType.Member> members = new java.util.ArrayList<>(List.of(opt("logfile", QType.STR),
                opt("logappend", QType.BOOL)));
        members.addAll(List.of(own));
        return new QType.Struct(name, members);
    }

    private static QType.Variant wrapped(String tag, QType.Struct data) {
        return new QType.Variant(tag, QType.struct("q_obj_" + data.name() + "-wrapper", req("data", data)));
    }
}
