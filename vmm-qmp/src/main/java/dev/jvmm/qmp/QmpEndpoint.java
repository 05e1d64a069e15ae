package dev.jvmm.qmp;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
        List<QmpEndpoint> out = new ArrayList<>();
        for (int i = 0; i < qmpValues.size(); i++) {
            out.add(parseQmpOption(qmpValues.get(i), i));
        }
        for (String mon : monValues) {
            String id = parseMonOption(mon);
            String match = chardevWithId(chardevValues, id);
            if (match == null) {
                throw new OptionException("-mon", "chardev '" + id + "' not found");
            }
            out.add(parseChardevOption(match));
        }
        return out;
    }

    /** Whether this -chardev value is the backend of one of the -mon values (so QMP, not a device, owns it). */
    public static boolean isMonitorChardev(String chardevValue, List<String> monValues) throws OptionException {
        String id = QemuOpts.parse("-chardev", chardevValue, "backend").get("id").orElse(null);
        for (String mon : monValues) {
            if (parseMonOption(mon).equals(id)) {
                return true;
            }
        }
        return false;
    }

    private static String chardevWithId(List<String> chardevValues, String id) {
        String match = null;
        for (String c : chardevValues) {
            if (id.equals(QemuOpts.parse("-chardev", c, "backend").get("id").orElse(null))) {
                match = c;
            }
        }
        return match;
    }

    /** -qmp VALUE; label as QEMU numbers them ("compat_monitor0", ...). */
    public static QmpEndpoint parseQmpOption(String value, int index) throws OptionException {
        if (!value.startsWith("unix:")) {
            throw new OptionException("-qmp", value + ": only unix: sockets are supported");
        }
        QemuOpts o = QemuOpts.parse("-qmp " + value, value.substring("unix:".length()), "path");
        String path = o.get("path").orElse("");
        if (path.isEmpty()) {
            throw new OptionException("-qmp", value + ": missing socket path");
        }
        o.requireOnly("path", "server", "wait");
        if (!o.getBool("server", false)) {
            throw new OptionException("-qmp", value + ": client mode (server=off) is not supported");
        }
        return new QmpEndpoint(Path.of(path), -1, o.getBool("wait", true), "compat_monitor" + index);
    }

    /** -chardev socket,id=ID,... for a chardev that a -mon ...,mode=control uses. */
    public static QmpEndpoint parseChardevOption(String value) throws OptionException {
        QemuOpts o = QemuOpts.parse("-chardev " + value, value, "backend");
        if (!o.get("backend").orElse("").equals("socket")) {
            throw new OptionException("-chardev", value + ": only socket chardevs can carry a monitor");
        }
        String id = o.get("id").orElseThrow(() -> new OptionException("-chardev", value + ": Parameter 'id' is missing"));
        o.requireOnly("backend", "id", "path", "fd", "server", "wait");
        if (!o.getBool("server", false)) {
            throw new OptionException("-chardev", value + ": client mode (server=off) is not supported");
        }
        boolean wait = o.getBool("wait", true);
        if (o.has("path") == o.has("fd")) {
            throw new OptionException("-chardev", value + ": exactly one of 'path' and 'fd' is required");
        }
        if (o.has("fd")) {
            long fd = o.getNumber("fd", -1);
            if (fd < 0 || fd > Integer.MAX_VALUE) {
                throw new OptionException("-chardev", value + ": Parameter 'fd' expects a number");
            }
            return new QmpEndpoint(null, (int) fd, wait, id);
        }
        return new QmpEndpoint(Path.of(o.get("path").get()), -1, wait, id);
    }

    /** -mon chardev=ID,mode=control: returns the chardev id, or throws for mode=readline (HMP, unsupported). */
    public static String parseMonOption(String value) throws OptionException {
        QemuOpts o = QemuOpts.parse("-mon " + value, value, "chardev");
        // libvirt names its monitor: -mon chardev=charmonitor,id=monitor,mode=control
        o.requireOnly("chardev", "mode", "pretty", "id");
        String chardev = o.get("chardev").orElseThrow(
                () -> new OptionException("-mon", value + ": Parameter 'chardev' is missing"));
        if (!o.getOrDefault("mode", "readline").equals("control")) {
            throw new OptionException("-mon", value + ": only mode=control is supported");
        }
        return chardev;
    }
}
