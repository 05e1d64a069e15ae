package dev.jvmm.qmp;

import dev.jvmm.core.config.OptionException;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One QMP listening endpoint as the command line names it. Parses QEMU's spellings:
 * {@code -qmp unix:PATH,server=on,wait=off} (and {@code server,nowait}), {@code -chardev
 * socket,id=ID,path=PATH|fd=N,server=on,wait=off} paired with {@code -mon chardev=ID,mode=control}.
 *
 * @param path          socket path, or null when fd is used
 * @param fd            inherited listening socket, or -1
 * @param waitForClient wait=on: hold start-up until a client connects
 * @param label         the chardev id (query-chardev's label)
 */
public record QmpEndpoint(Path path, int fd, boolean waitForClient, String label) {

    /**
     * All QMP endpoints of a command line: every -qmp value, plus each -mon ...,mode=control with the
     * -chardev socket it names. -chardev values no -mon refers to are left to the chardev layer.
     */
    public static List<QmpEndpoint> fromCommandLine(List<String> qmpValues, List<String> chardevValues,
            List<String> monValues) throws OptionException {
        List<QmpEndpoint> out = new java.util.ArrayList<>();
        for (int i = 0; i < qmpValues.size(); i++) {
            out.add(parseQmpOption(qmpValues.get(i), i));
        }
        for (String mon : monValues) {
            String id = parseMonOption(mon);
            String match = null;
            for (String c : chardevValues) {
                if (("," + c + ",").contains(",id=" + id + ",")) {
                    match = c;
                }
            }
            if (match == null) {
                throw new OptionException("-mon", "chardev '" + id + "' not found");
            }
            out.add(parseChardevOption(match));
        }
        return out;
    }

    /** -qmp VALUE; label as QEMU numbers them ("compat_monitor0", ...). */
    public static QmpEndpoint parseQmpOption(String value, int index) throws OptionException {
        if (!value.startsWith("unix:")) {
            throw new OptionException("-qmp", value + ": only unix: sockets are supported");
        }
        String[] parts = value.substring(5).split(",");
        if (parts[0].isEmpty()) {
            throw new OptionException("-qmp", value + ": missing socket path");
        }
        Map<String, String> opts = props(value, parts, 1);
        boolean server = flag(value, opts, "server", false);
        if (!server) {
            throw new OptionException("-qmp", value + ": client mode (server=off) is not supported");
        }
        boolean wait = flag(value, opts, "wait", true);
        opts.keySet().removeAll(List.of("server", "wait"));
        if (!opts.isEmpty()) {
            throw new OptionException("-qmp", value + ": Invalid parameter '" + opts.keySet().iterator().next()
                    + "'");
        }
        return new QmpEndpoint(Path.of(parts[0]), -1, wait, "compat_monitor" + index);
    }

    /** -chardev socket,id=ID,... for a chardev that a -mon ...,mode=control uses. */
    public static QmpEndpoint parseChardevOption(String value) throws OptionException {
        String[] parts = value.split(",");
        if (!parts[0].equals("socket")) {
            throw new OptionException("-chardev", value + ": only socket chardevs can carry a monitor");
        }
        Map<String, String> opts = props(value, parts, 1);
        String id = opts.remove("id");
        if (id == null) {
            throw new OptionException("-chardev", value + ": Parameter 'id' is missing");
        }
        boolean server = flag(value, opts, "server", false);
        boolean wait = flag(value, opts, "wait", true);
        if (!server) {
            throw new OptionException("-chardev", value + ": client mode (server=off) is not supported");
        }
        String path = opts.remove("path");
        String fd = opts.remove("fd");
        opts.keySet().removeAll(List.of("server", "wait"));
        if (!opts.isEmpty()) {
            throw new OptionException("-chardev", value + ": Invalid parameter '" + opts.keySet().iterator().next()
                    + "'");
        }
        if ((path == null) == (fd == null)) {
            throw new OptionException("-chardev", value + ": exactly one of 'path' and 'fd' is required");
        }
        if (fd != null) {
            try {
                return new QmpEndpoint(null, Integer.parseInt(fd), wait, id);
            } catch (NumberFormatException e) {
                throw new OptionException("-chardev", value + ": Parameter 'fd' expects a number");
            }
        }
        return new QmpEndpoint(Path.of(path), -1, wait, id);
    }

    /** -mon chardev=ID,mode=control: returns the chardev id, or throws for mode=readline (HMP, unsupported). */
    public static String parseMonOption(String value) throws OptionException {
        Map<String, String> opts = props(value, value.split(","), 0);
        String chardev = opts.remove("chardev");
        String mode = opts.getOrDefault("mode", "readline");
        opts.remove("mode");
        opts.remove("pretty");
        opts.remove("id"); // libvirt names its monitor: -mon chardev=charmonitor,id=monitor,mode=control
        if (chardev == null) {
            throw new OptionException("-mon", value + ": Parameter 'chardev' is missing");
        }
        if (!mode.equals("control")) {
            throw new OptionException("-mon", value + ": only mode=control is supported");
        }
        if (!opts.isEmpty()) {
            throw new OptionException("-mon", value + ": Invalid parameter '" + opts.keySet().iterator().next() + "'");
        }
        return chardev;
    }

    private static Map<String, String> props(String whole, String[] parts, int from) throws OptionException {
        Map<String, String> m = new HashMap<>();
        for (int i = from; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq < 0) {
                // QEMU's old boolean spelling: "server" = on, "nowait" = wait=off.
                if (p.startsWith("no")) {
                    m.put(p.substring(2), "off");
                } else {
                    m.put(p, "on");
                }
            } else {
                m.put(p.substring(0, eq), p.substring(eq + 1));
            }
        }
        return m;
    }

    private static boolean flag(String whole, Map<String, String> opts, String key, boolean dflt)
            throws OptionException {
        String v = opts.get(key);
        if (v == null) {
            return dflt;
        }
        return switch (v) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw new OptionException(whole, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }
}
