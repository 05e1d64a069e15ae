package dev.jvmm.cli;

import dev.jvmm.core.chardev.Chardev;
import dev.jvmm.core.chardev.ChardevFactory;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.io.IoEventRegistry;
import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.devices.pci.PciBus;
import dev.jvmm.devices.pci.PciPlacement;
import dev.jvmm.devices.virtio.VirtioPciTransport;
import dev.jvmm.devices.virtio.VirtioSerial;
import dev.jvmm.devices.virtio.VirtioSerialPort;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The machine's virtio-serial controllers ({@code -device virtio-serial-pci}, alias {@code virtio-serial})
 * and their ports ({@code -device virtserialport} / {@code virtconsole}), with QEMU 7.2's error texts. A
 * controller's bus is "ID.0", or "virtio-serial-bus.0" without id= (QEMU's automatic bus name); a port
 * without bus= goes on the first controller.
 */
final class SerialDevices implements AutoCloseable {
    private static final String[] CONTROLLER_PROPERTIES = {
        "driver", "id", "bus", "addr", "max_ports", "emergency-write", "disable-legacy", "disable-modern",
        "ioeventfd", "multifunction", "rombar", "romfile", "event_idx", "indirect_desc",
    };
    private static final String[] PORT_PROPERTIES = {"driver", "id", "bus", "chardev", "name", "nr"};
    private static final String BUS_TYPE = "virtio-serial-bus";

    private final GuestMemory memory;
    private final PciBus pci;
    private final MsiRouter msi;
    private final IoEventRegistry ioevents;
    private final EventBus events;
    private final ChardevFactory chardevs;
    private final PrintStream err;
    /** Controllers by bus name, first created first (anonymous ones share "virtio-serial-bus.0"). */
    private final List<Map.Entry<String, VirtioSerial>> buses = new ArrayList<>();
    private final List<VirtioPciTransport> functions = new ArrayList<>();
    private final List<VirtioSerialPort> ports = new ArrayList<>();
    private final Map<String, String> names = new LinkedHashMap<>();

    SerialDevices(GuestMemory memory, PciBus pci, MsiRouter msi, IoEventRegistry ioevents, EventBus events,
                  ChardevFactory chardevs, PrintStream err) {
        this.memory = memory;
        this.pci = pci;
        this.msi = msi;
        this.ioevents = ioevents;
        this.events = events;
        this.chardevs = chardevs;
        this.err = err;
    }

    /** -device virtio-serial-pci / virtio-serial. */
    void addController(QemuOpts d) {
        String driver = d.get("driver").orElse("virtio-serial-pci");
        String bus = d.getOrDefault("bus", "pci.0");
        if (!bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Bus '" + bus + "' not found");
        }
        requireProperties(d, driver, CONTROLLER_PROPERTIES);
        if (d.has("disable-legacy") && !d.get("disable-legacy").get().equals("auto")
                && !d.getBool("disable-legacy", true)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-legacy=off"
                    + " is not supported");
        }
        if (d.getBool("disable-modern", false)) {
            throw new OptionException(d.option(), "jvmm's virtio-pci devices are modern-only: disable-modern=on"
                    + " is not supported");
        }
        long maxPorts = integer(d, "max_ports", VirtioSerial.DEFAULT_MAX_PORTS);
        if (maxPorts == 0) {
            throw new OptionException(d.option(), "Maximum number of serial ports not specified");
        }
        if (maxPorts < 0 || maxPorts > VirtioSerial.MAX_SUPPORTED_PORTS) {
            throw new OptionException(d.option(), "maximum ports supported: " + VirtioSerial.MAX_SUPPORTED_PORTS);
        }
        String id = d.get("id").orElse(null);
        String busName = id == null ? BUS_TYPE + ".0" : id + ".0";
        VirtioSerial dev = new VirtioSerial(id == null ? "" : id, busName, (int) maxPorts,
                d.getBool("emergency-write", true), events, err);
        VirtioPciTransport f = VirtioSerial.pci(memory, dev, msi, ioevents);
        plug(f, driver, d.get("addr").orElse(null), d.option());
        buses.add(Map.entry(busName, dev));
    }

    /** -device virtserialport / virtconsole. */
    void addPort(QemuOpts d) {
        String driver = d.get("driver").orElse("virtserialport");
        boolean console = driver.equals("virtconsole");
        VirtioSerial dev = findBus(d, driver); // QEMU finds the bus before it sets properties
        requireProperties(d, driver, PORT_PROPERTIES);
        int nr = -1;
        if (d.has("nr")) {
            long v = integer(d, "nr", -1);
            if (v < 0 || v > 0xffff_fffeL) {
                throw new OptionException(d.option(), "Property '" + driver + ".nr' doesn't take value '"
                        + d.get("nr").get() + "'");
            }
            // QEMU's uint32 port number; beyond max_ports it is out of range either way
            nr = (int) Math.min(v, Integer.MAX_VALUE);
        }
        Chardev chardev = null;
        if (d.has("chardev")) {
            String c = d.get("chardev").get();
            chardev = chardevs.get(c).orElseThrow(() -> new OptionException(d.option(),
                    "Property '" + driver + ".chardev' can't find value '" + c + "'"));
            if (!chardevs.claim(c)) {
                throw new OptionException(d.option(), "Property '" + driver + ".chardev' can't take value '" + c
                        + "': Device '" + c + "' is in use");
            }
        }
        String name = d.get("name").orElse(null);
        if (name != null && names.containsKey(name)) {
            // QEMU looks for the name on every virtio-serial bus
            throw new OptionException(d.option(), "virtio-serial-bus: A port already exists by name " + name);
        }
        try {
            ports.add(dev.addPort(d.get("id").orElse(null), nr, name, console, chardev));
        } catch (IllegalArgumentException e) {
            throw new OptionException(d.option(), e.getMessage());
        }
        if (name != null) {
            names.put(name, dev.busName());
        }
    }

    /**
     * query-chardev's frontend-open for a chardev behind a port, as QEMU's virtconsole sets it: a console's
     * is open, a serial port's follows the guest's PORT_OPEN. Empty for chardevs no port uses.
     */
    java.util.Optional<Boolean> frontendOpen(String chardevId) {
        for (VirtioSerialPort p : ports) {
            if (p.chardev() != null && p.chardev().id().equals(chardevId)) {
                return java.util.Optional.of(p.console() || p.guestConnected());
            }
        }
        return java.util.Optional.empty();
    }

    private VirtioSerial findBus(QemuOpts d, String driver) {
        if (!d.has("bus")) {
            if (buses.isEmpty()) {
                throw new OptionException(d.option(), "No '" + BUS_TYPE + "' bus found for device '" + driver + "'");
            }
            return buses.get(0).getValue();
        }
        String bus = d.get("bus").get();
        if (bus.equals("pci.0")) {
            throw new OptionException(d.option(), "Device '" + driver + "' can't go on PCI bus");
        }
        for (Map.Entry<String, VirtioSerial> e : buses) {
            if (e.getKey().equals(bus)) {
                return e.getValue();
            }
        }
        throw new OptionException(d.option(), "Bus '" + bus + "' not found");
    }

    private static void requireProperties(QemuOpts d, String driver, String[] allowed) {
        outer:
        for (String k : d.values().keySet()) {
            for (String a : allowed) {
                if (a.equals(k)) {
                    continue outer;
                }
            }
            throw new OptionException(d.option(), "Property '" + driver + "." + k + "' not found");
        }
    }

    /** QEMU's integer properties: "Parameter 'K' expects integer" for anything else. */
    private static long integer(QemuOpts d, String key, long def) {
        if (!d.has(key)) {
            return def;
        }
        try {
            return QemuOpts.parseNumber(d.get(key).get());
        } catch (NumberFormatException e) {
            throw new OptionException(d.option(), "Parameter '" + key + "' expects integer");
        }
    }

    /** Plugs f at addr= or the first free slot; a refused place closes f. */
    private void plug(VirtioPciTransport f, String driver, String addr, String option) {
        LegacyPci.plug(pci, f, driver, addr, option);
        functions.add(f);
    }

    @Override
    public void close() {
        for (VirtioPciTransport f : functions) {
            f.close();
        }
        functions.clear();
    }
}
