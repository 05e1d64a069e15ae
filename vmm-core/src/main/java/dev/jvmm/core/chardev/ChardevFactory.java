package dev.jvmm.core.chardev;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.core.machine.ChardevAdded;
import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.os.UnixSockets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Builds chardev backends from {@code -chardev BACKEND,id=ID,...} and {@code -serial} shorthands with
 * QEMU 7.2's error texts, and keeps the ones created by id (for {@code chardev:ID}, duplicate checks and
 * query-chardev), and adds, removes and replaces them while the machine runs (chardev-add,
 * chardev-remove, chardev-change). Synchronized: the machine's assembly and the QMP main loop share it.
 *
 * <p>Supported: stdio, file (path=, append=, /dev/fdset/N), null, socket on UNIX paths (path=, server=,
 * wait=, reconnect=) or a passed listening socket (fd=), pty. Not supported (clear error): a passed connected
 * socket, TCP sockets, mux=on, logfile=.
 */
public final class ChardevFactory implements ChardevControl {
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]*");
    private static final String NOT_IDENTIFIER = "Parameter 'id' expects an identifier\n"
            + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

    private final Supplier<IoLoop> ioLoop;
    /** Where file paths /dev/fdset/N are opened; without it they are ordinary (missing) paths. */
    private volatile dev.jvmm.core.fd.FdSets fdSets;
    private final Map<String, Chardev> byId = new LinkedHashMap<>();
    private boolean stdioUsed;

    /** Ids given by -chardev options, which QEMU keeps for the life of the process. */
    private final Set<String> optionIds = new HashSet<>();
    /** Ids of chardevs that a frontend has taken. */
    private final Set<String> claimed = new HashSet<>();
    /** Frontends that take a new backend on chardev-change (virtio-serial ports), by chardev id. */
    private final Map<String, Consumer<Chardev>> changeHandlers = new HashMap<>();
    /** Frontends that report their own open state (virtio-serial ports), by chardev id. */
    private final Map<String, BooleanSupplier> frontendOpen = new HashMap<>();

    /** Opens file chardevs at /dev/fdset/N through the machine's fd sets, as QEMU's qemu_open does. */
    public void useFdSets(dev.jvmm.core.fd.FdSets sets) {
        this.fdSets = sets;
    }

    /** @param ioLoop gives the machine's I/O loop; only asked for when a socket backend is made */
    public ChardevFactory(Supplier<IoLoop> ioLoop) {
        this.ioLoop = ioLoop;
    }

    /** Parses and opens one {@code -chardev} argument; errors carry "-chardev TEXT" as their option. */
    public synchronized Chardev fromChardevOption(String text) {
        String option = "-chardev " + text;
        QemuOpts opts = parseOption(option, text);
        String id = opts.get("id").orElseThrow();
        if (byId.containsKey(id)) {
            throw new OptionException(option, "Duplicate ID '" + id + "' for chardev");
        }
        Chardev c = open(option, opts.get("backend").orElseThrow(), id, opts);
        byId.put(id, c);
        optionIds.add(id);
        return c;
    }

    @Override
    public synchronized boolean optionHolds(String id) {
        return optionIds.contains(id);
    }

    /** -chardev's text with id and backend checked, in QEMU's order. */
    private static QemuOpts parseOption(String option, String text) {
        QemuOpts opts = QemuOpts.parse(option, text, "backend");
        String id = opts.get("id").orElse(null);
        if (id == null) {
            throw new OptionException(option, "chardev: no id specified");
        }
        if (!IDENTIFIER.matcher(id).matches()) {
            throw new OptionException(option, NOT_IDENTIFIER);
        }
        String backend = opts.get("backend").orElse(null);
        if (backend == null) {
            throw new OptionException(option, "chardev: \"" + id + "\" missing backend");
        }
        if (!isDriver(backend)) {
            throw new OptionException(option, "'" + backend + "' is not a valid char driver name");
        }
        return opts;
    }

    /**
     * HMP chardev-add: -chardev's text, its errors as QEMU's qemu_chr_new_from_opts gives them (a taken id is
     * a duplicate child of /chardevs).
     *
     * @param taken ids in use besides this factory's (the monitors' chardevs)
     */
    @Override
    public synchronized ChardevAdded addFromOption(String text, java.util.Collection<String> taken)
            throws MachineCommandException {
        try {
            QemuOpts opts = parseOption("chardev-add", text);
            String id = opts.get("id").orElseThrow();
            if (byId.containsKey(id) || taken.contains(id)) {
                throw MachineCommandException.generic("attempt to add duplicate property '" + id
                        + "' to object (type 'container')");
            }
            Chardev c = open("chardev-add", opts.get("backend").orElseThrow(), id, opts);
            byId.put(id, c);
            return new ChardevAdded(id, ptyPath(c));
        } catch (OptionException e) {
            throw MachineCommandException.generic(e.getMessage());
        }
    }

    /**
     * Opens a {@code -serial} argument for the given port index (its chardev is named "serial" + index,
     * as QEMU names it). Returns empty for "none" (no serial port); {@code chardev:ID} returns the
     * chardev defined earlier with -chardev.
     */
    public synchronized Optional<Chardev> fromSerialOption(String text, int index) {
        String option = "-serial " + text;
        String cannotConnect = "could not connect serial device to character backend '" + text + "'";
        if (text.equals("none")) {
            return Optional.empty();
        }
        if (text.startsWith("chardev:")) {
            Chardev c = byId.get(text.substring("chardev:".length()));
            if (c == null) {
                throw new OptionException(option, cannotConnect);
            }
            if (!claim(c.id())) {
                throw new OptionException(option, "Device '" + c.id() + "' is in use");
            }
            return Optional.of(c);
        }
        String id = "serial" + index;
        QemuOpts opts;
        String backend;
        if (text.equals("stdio") || text.equals("mon:stdio")) {
            // mon:stdio would multiplex the HMP monitor; jvmm has none, so it is plain stdio.
            backend = "stdio";
            opts = new QemuOpts(option, null, Map.of("backend", backend, "id", id));
        } else if (text.equals("null") || text.equals("pty")) {
            backend = text;
            opts = new QemuOpts(option, null, Map.of("backend", backend, "id", id));
        } else if (text.startsWith("file:")) {
            backend = "file";
            opts = new QemuOpts(option, null, Map.of("backend", backend, "id", id, "path", text.substring(5)));
        } else if (text.startsWith("unix:")) {
            backend = "socket";
            String rest = text.substring(5);
            if (rest.isEmpty() || rest.startsWith(",")) {
                throw new OptionException(option, "Unable to parse FD number ");
            }
            Map<String, String> m = new LinkedHashMap<>(QemuOpts.parse(option, rest, "path").values());
            m.put("backend", backend);
            m.put("id", id);
            opts = new QemuOpts(option, null, m);
        } else {
            int colon = text.indexOf(':');
            String name = colon < 0 ? text : text.substring(0, colon);
            throw new OptionException(option, colon < 0 ? "'" + name + "' is not a valid char driver"
                    : cannotConnect);
        }
        if (byId.containsKey(id)) {
            throw new OptionException(option, "Duplicate ID '" + id + "' for chardev");
        }
        Chardev c = open(option, backend, id, opts);
        byId.put(id, c);
        claim(id); // the serial port this option makes is its frontend
        return Optional.of(c);
    }

    /**
     * A frontend (serial port, virtio-serial port) takes the chardev; false when another frontend already
     * has it (QEMU's "Device 'ID' is in use": a chardev has one frontend).
     */
    public synchronized boolean claim(String id) {
        return claimed.add(id);
    }

    /**
     * claim, for a frontend whose open state query-chardev reports as it changes (QEMU's
     * qemu_chr_fe_set_open: a virtconsole is open, a virtserialport follows the guest).
     */
    public synchronized boolean claim(String id, BooleanSupplier open) {
        if (!claim(id)) {
            return false;
        }
        frontendOpen.put(id, open);
        return true;
    }

    /**
     * The frontend that claimed the chardev follows chardev-change (QEMU's chr_be_change handler): change
     * hands it the new backend, which it takes in place of the old one.
     */
    public synchronized void onChange(String id, Consumer<Chardev> change) {
        if (claimed.contains(id)) {
            changeHandlers.put(id, change);
        }
    }

    /** The frontend let the chardev go (its device was unplugged): chardev-remove may take it now. */
    public synchronized void release(String id) {
        claimed.remove(id);
        frontendOpen.remove(id);
        changeHandlers.remove(id);
    }

    /** Whether a frontend has taken the chardev (query-chardev's frontend-open for most frontends). */
    public synchronized boolean isClaimed(String id) {
        return claimed.contains(id);
    }

    /** query-chardev's frontend-open: what the frontend says, else whether one has taken the chardev. */
    public synchronized boolean isFrontendOpen(String id) {
        BooleanSupplier open = frontendOpen.get(id);
        return open != null ? open.getAsBoolean() : claimed.contains(id);
    }

    /** A chardev created earlier, by id. */
    public synchronized Optional<Chardev> get(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** query-chardev: every chardev; one no device uses has no open frontend, as in QEMU. */
    @Override
    public synchronized List<ChardevInfo> list() {
        List<ChardevInfo> out = new ArrayList<>();
        for (Chardev c : all().values()) {
            out.add(new ChardevInfo(c.id(), c.describe(), isFrontendOpen(c.id())));
        }
        return out;
    }

    /** Every chardev created, in creation order (for query-chardev). */
    public synchronized Map<String, Chardev> all() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(byId));
    }

    /**
     * chardev-add: QEMU's qmp_chardev_add, its failures prefixed "Failed to add chardev 'ID': ". Any id is
     * taken (QMP does not check it is an identifier); a descriptor given as fd= is this factory's from now on.
     */
    @Override
    public synchronized Optional<String> add(String id, Map<String, String> backend)
            throws MachineCommandException {
        if (byId.containsKey(id)) {
            closeGivenFd(backend);
            throw MachineCommandException.generic("Chardev with id '" + id + "' already exists");
        }
        Chardev c = openRuntime(id, backend, "Failed to add chardev '" + id + "': ");
        byId.put(id, c);
        return ptyPath(c);
    }

    /** chardev-remove: closes the backend (a server's socket file goes, its threads end). */
    @Override
    public synchronized void remove(String id) throws MachineCommandException {
        Chardev c = byId.get(id);
        if (c == null) {
            throw MachineCommandException.generic("Chardev '" + id + "' not found");
        }
        if (claimed.contains(id)) {
            throw MachineCommandException.generic("Chardev '" + id + "' is busy");
        }
        byId.remove(id);
        c.close();
    }

    /**
     * chardev-change: the new backend replaces the old under the same id. A frontend that claimed the chardev
     * with a change handler takes the new backend; one without is refused, as QEMU refuses a frontend without
     * chr_be_change.
     */
    @Override
    public synchronized Optional<String> change(String id, Map<String, String> backend)
            throws MachineCommandException {
        Chardev old = byId.get(id);
        if (old == null) {
            closeGivenFd(backend);
            throw MachineCommandException.generic("Chardev '" + id + "' does not exist");
        }
        if (claimed.contains(id)) {
            Consumer<Chardev> handler = changeHandlers.get(id);
            if (handler == null) {
                closeGivenFd(backend);
                throw MachineCommandException.generic("Chardev user does not support chardev hotswap");
            }
            // the new backend opens before the old one goes: one that cannot open leaves the frontend as it was
            Chardev c = openRuntime(id, backend, "");
            handler.accept(c);
            byId.put(id, c);
            old.close();
            return ptyPath(c);
        }
        // Without a frontend QEMU removes the old chardev and adds the new one as chardev-add does: a
        // backend that cannot open leaves no chardev under the id, and the error reads as chardev-add's.
        byId.remove(id);
        old.close();
        return add(id, backend);
    }

    private Chardev openRuntime(String id, Map<String, String> backend, String prefix)
            throws MachineCommandException {
        Map<String, String> keys = new LinkedHashMap<>(backend);
        keys.put("id", id);
        String fdName = keys.remove(FD_NAME);
        String type = keys.getOrDefault("backend", "");
        if (fdName != null && !UnixSockets.isSocket(Integer.parseInt(keys.get("fd")))) {
            closeGivenFd(backend);
            throw MachineCommandException.generic(prefix + "File descriptor '" + fdName + "' is not a socket");
        }
        if (fdName != null && "off".equals(keys.get("server"))) {
            closeGivenFd(backend);
            throw MachineCommandException.generic(prefix + "chardev: socket: a passed connected socket (server "
                    + "off) is not supported by jvmm; pass a listening socket");
        }
        try {
            if (!isDriver(type)) {
                throw new OptionException(null, "chardev: " + type + " is not supported by jvmm");
            }
            return open("chardev-add", type, id, new QemuOpts("chardev-add", null, keys));
        } catch (OptionException e) {
            throw MachineCommandException.generic(prefix + e.getMessage());
        }
    }

    /** The key under which chardev-add names the getfd descriptor given as fd=, for QEMU's messages. */
    public static final String FD_NAME = "x-fdname";

    private static void closeGivenFd(Map<String, String> backend) {
        String fd = backend.get("fd");
        if (fd != null && backend.containsKey(FD_NAME)) {
            dev.jvmm.core.fd.UnixMessages.closeFd(Integer.parseInt(fd));
        }
    }

    private static Optional<String> ptyPath(Chardev c) {
        return c instanceof PtyChardev p ? Optional.of(p.slavePath()) : Optional.empty();
    }

    /** Closes every chardev created. */
    public synchronized void closeAll() {
        for (Chardev c : byId.values()) {
            c.close();
        }
        byId.clear();
    }

    private static boolean isDriver(String name) {
        return switch (name) {
            case "stdio", "file", "null", "socket", "pty" -> true;
            default -> false;
        };
    }

    private Chardev open(String option, String backend, String id, QemuOpts opts) {
        if (opts.has("mux") && opts.getBool("mux", false)) {
            throw new OptionException(option, "chardev: mux=on is not supported by jvmm");
        }
        switch (backend) {
            case "null" -> {
                opts.requireOnly("backend", "id", "mux");
                return new NullChardev(id);
            }
            case "stdio" -> {
                opts.requireOnly("backend", "id", "mux", "signal");
                if (stdioUsed) {
                    throw new OptionException(option, "cannot use stdio by multiple character devices");
                }
                stdioUsed = true;
                return new StdioChardev(id);
            }
            case "file" -> {
                opts.requireOnly("backend", "id", "mux", "path", "append");
                String path = opts.get("path").orElse(null);
                if (path == null) {
                    throw new OptionException(option, "chardev: file: no filename given");
                }
                dev.jvmm.core.fd.FdSets sets = fdSets;
                if (sets != null && dev.jvmm.core.fd.FdSets.isFdSetPath(path)) {
                    return fdSetFile(option, id, path, sets);
                }
                return FileChardev.open(option, id, path, opts.getBool("append", false));
            }
            case "pty" -> {
                opts.requireOnly("backend", "id", "mux");
                try {
                    return new PtyChardev(id);
                } catch (IOException e) {
                    throw new OptionException(option, e.getMessage());
                }
            }
            case "socket" -> {
                return openSocket(option, id, opts);
            }
            default -> throw new OptionException(option, "'" + backend + "' is not a valid char driver name");
        }
    }

    private Chardev openSocket(String option, String id, QemuOpts opts) {
        opts.requireOnly("backend", "id", "mux", "path", "server", "wait", "reconnect", "fd", "host", "port");
        boolean server = opts.getBool("server", false);
        long reconnect = opts.getNumber("reconnect", 0);
        int sources = (opts.has("path") ? 1 : 0) + (opts.has("fd") ? 1 : 0) + (opts.has("host") ? 1 : 0);
        if (sources > 1) {
            throw new OptionException(option, "None or one of 'path', 'fd' or 'host' option required.");
        }
        if (sources == 0) {
            throw new OptionException(option, "Unable to parse FD number ");
        }
        if (opts.has("host")) {
            throw new OptionException(option, "chardev: socket: TCP sockets are not supported by jvmm; use path=");
        }
        if (opts.has("fd") && !server) {
            throw new OptionException(option, "chardev: socket: fd= without server=on (a connected socket) is not supported by jvmm");
        }
        if (server && opts.has("reconnect")) {
            throw new OptionException(option, "'reconnect' option is incompatible with socket in server listen mode");
        }
        if (!server && opts.has("wait")) {
            throw new OptionException(option, "'wait' option is incompatible with socket in client connect mode");
        }
        if (reconnect < 0 || reconnect > Integer.MAX_VALUE) {
            throw new OptionException(option, "Parameter 'reconnect' expects a number");
        }
        boolean wait = opts.getBool("wait", true);
        if (opts.has("fd")) {
            long fd = opts.getNumber("fd", -1);
            if (fd < 0 || fd > Integer.MAX_VALUE) {
                throw new OptionException(option, "Unable to parse FD number " + opts.get("fd").orElse(""));
            }
            try {
                return SocketChardev.serverFd(id, (int) fd, wait, ioLoop.get());
            } catch (IOException e) {
                throw new OptionException(option, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OptionException(option, "interrupted while waiting for a connection");
            }
        }
        Path path = Path.of(opts.get("path").orElseThrow());
        try {
            return server ? SocketChardev.server(id, path, wait, ioLoop.get())
                    : SocketChardev.client(id, path, (int) reconnect, ioLoop.get());
        } catch (IOException e) {
            throw new OptionException(option, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OptionException(option, "interrupted while waiting for a connection");
        }
    }

    /** A file chardev on a write-only descriptor of an fd set; the duplicate stays in use as long as jvmm runs. */
    private static Chardev fdSetFile(String option, String id, String path, dev.jvmm.core.fd.FdSets sets) {
        int dup;
        try {
            dup = sets.open(path, dev.jvmm.core.fd.FdSets.O_WRONLY);
        } catch (dev.jvmm.core.fd.FdSets.OpenException e) {
            throw new OptionException(option, "Could not open '" + path + "': "
                    + dev.jvmm.core.os.LibC.describe(e.errno()));
        }
        try {
            return FileChardev.ofDescriptor(id, dup);
        } catch (IOException e) {
            sets.release(dup);
            throw new OptionException(option, "Could not open '" + path + "': " + e.getMessage());
        }
    }
}
