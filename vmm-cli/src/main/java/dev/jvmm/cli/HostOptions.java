package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.objects.UserObjects;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The options about the jvmm process rather than the guest's hardware, as libvirt writes them: -name's
 * thread naming, -object, -overcommit, -audiodev and -boot.
 *
 * @param debugThreads  -name debug-threads=on: vCPU threads named "CPU N/KVM", iothreads "IO ID"
 * @param processName   -name process=: the process's name (/proc/PID/comm)
 * @param objects       the -object objects
 * @param memoryBackend -machine memory-backend=, the object guest RAM is mapped from
 * @param memLock       -overcommit mem-lock=on: all memory locked (mlockall)
 * @param audiodevs     the -audiodev ids (driver none only)
 * @param boot          the -boot settings, merged (later keys win); no effect with -kernel, as in QEMU
 */
record HostOptions(boolean debugThreads, Optional<String> processName, UserObjects objects,
                   Optional<String> memoryBackend, boolean memLock, List<String> audiodevs,
                   Map<String, String> boot) {
    /** What no option gives. */
    static final HostOptions DEFAULTS = new HostOptions(false, Optional.empty(), UserObjects.none(),
            Optional.empty(), false, List.of(), Map.of());

    private static final Set<String> BOOT_KEYS = Set.of("order", "once", "menu", "splash", "splash-time",
            "reboot-timeout", "strict");
    /** QEMU's x86 boot devices: floppies a-b, disks c, CD-ROM d, network n-p. */
    private static final String BOOT_DEVICES = "abcdnop";

    /** Name of a vCPU's thread: QEMU's with debug-threads=on. */
    String vcpuThreadName(int index) {
        return debugThreads ? "CPU " + index + "/KVM" : "vcpu-" + index;
    }

    static HostOptions parse(QemuCommandLine cl, Optional<String> memoryBackend) {
        boolean debugThreads = false;
        Optional<String> process = Optional.empty();
        if (cl.name != null) {
            QemuOpts o = QemuOpts.parse("-name " + cl.name, cl.name, "guest");
            debugThreads = bool("-name " + cl.name, "debug-threads", o.get("debug-threads").orElse("off"));
            process = o.get("process");
        }
        boolean threads = debugThreads;
        UserObjects objects = UserObjects.create(cl.object, id -> threads ? "IO " + id : "iothread-" + id);
        if (memoryBackend.isPresent() && objects.memoryBackend(memoryBackend.get()).isEmpty()) {
            throw new OptionException(null, "Memory backend '" + memoryBackend.get() + "' not found");
        }
        boolean memLock = false;
        for (String v : cl.overcommit) {
            String option = "-overcommit " + v;
            QemuOpts o = QemuOpts.parse(option, v, null);
            for (String k : o.values().keySet()) {
                if (!k.equals("mem-lock") && !k.equals("cpu-pm")) {
                    throw new OptionException(option, "Invalid parameter '" + k + "'");
                }
            }
            if (o.get("mem-lock").isPresent()) {
                memLock = bool(option, "mem-lock", o.get("mem-lock").get());
            }
            if (o.get("cpu-pm").isPresent() && bool(option, "cpu-pm", o.get("cpu-pm").get())) {
                // QEMU hands HLT, MWAIT and PAUSE to the guest (KVM_CAP_X86_DISABLE_EXITS); jvmm keeps them.
                throw new OptionException(option, "cpu-pm=on is not supported by jvmm: vCPUs keep their"
                        + " HLT, MWAIT and PAUSE exits");
            }
        }
        List<String> audiodevs = new ArrayList<>();
        for (String a : cl.audiodev) {
            audiodevs.add(audiodev(a));
        }
        Map<String, String> boot = new LinkedHashMap<>();
        for (String b : cl.boot) {
            boot.putAll(boot(b));
        }
        return new HostOptions(debugThreads, process, objects, memoryBackend, memLock, List.copyOf(audiodevs),
                Map.copyOf(boot));
    }

    /**
     * A device's iothread= names an object as a link does: an id that is no iothread fails with QEMU's
     * "Device 'ID' not found" before the device's own checks (which refuse iothreads jvmm does not use).
     */
    void checkIothreadLinks(List<QemuOpts> devices) {
        for (QemuOpts d : devices) {
            d.get("iothread").filter(id -> !id.isEmpty()).ifPresent(id -> {
                if (objects.iothreads().stream().noneMatch(t -> t.id().equals(id))) {
                    throw new OptionException(d.option(), "Device '" + id + "' not found");
                }
            });
        }
    }

    private static boolean bool(String option, String key, String v) {
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(option, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** -audiodev DRIVER,id=ID or JSON; jvmm has no sound hardware and offers only the none backend. */
    static String audiodev(String text) {
        String option = "-audiodev " + text;
        Map<String, String> values;
        boolean json = text.stripLeading().startsWith("{");
        if (json) {
            values = new LinkedHashMap<>();
            Map<String, Object> tree;
            try {
                tree = dev.jvmm.core.block.BlockdevOptions.parse(text).tree();
            } catch (OptionException e) {
                throw new OptionException(option, e.getMessage());
            }
            for (Map.Entry<String, Object> e : tree.entrySet()) {
                values.put(e.getKey(), String.valueOf(e.getValue()));
            }
        } else {
            values = QemuOpts.parse(option, text, "driver").values();
        }
        String driver = values.get("driver");
        if (driver == null) {
            throw new OptionException(option, "Parameter 'driver' is missing");
        }
        if (!List.of("none", "alsa", "coreaudio", "dbus", "dsound", "jack", "oss", "pa", "sdl", "spice", "wav")
                .contains(driver)) {
            throw new OptionException(option, "Parameter 'driver' does not accept value '" + driver + "'");
        }
        if (!driver.equals("none")) {
            throw new OptionException(option, "audio driver '" + driver + "' is not supported by jvmm (only none)");
        }
        String id = values.get("id");
        if (id == null) {
            throw new OptionException(option, "Parameter 'id' is missing");
        }
        for (String k : values.keySet()) {
            if (!k.equals("driver") && !k.equals("id") && !k.equals("timer-period") && !k.startsWith("in.")
                    && !k.startsWith("out.")) {
                throw new OptionException(option, "Parameter '" + k + "' is unexpected");
            }
        }
        return id;
    }

    /** -boot [order=]DEVS[,once=,menu=,splash=,splash-time=,reboot-timeout=,strict=], checked as QEMU does. */
    static Map<String, String> boot(String text) {
        Map<String, String> v = QemuOpts.parse("-boot " + text, text, "order").values();
        for (Map.Entry<String, String> e : v.entrySet()) {
            String k = e.getKey();
            if (!BOOT_KEYS.contains(k)) {
                throw new OptionException(null, "Parameter 'boot." + k + "' is unexpected");
            }
            switch (k) {
                case "menu", "strict" -> bool(null, "boot." + k, e.getValue());
                case "splash-time", "reboot-timeout" -> {
                    try {
                        QemuOpts.parseNumber(e.getValue());
                    } catch (NumberFormatException ex) {
                        throw new OptionException(null, "Parameter 'boot." + k + "' expects integer");
                    }
                }
                case "order", "once" -> {
                    for (char c : e.getValue().toCharArray()) {
                        if (BOOT_DEVICES.indexOf(c) < 0) {
                            throw new OptionException(null, "Invalid boot device '" + c + "'");
                        }
                    }
                }
                default -> {
                    // splash: a picture for the boot menu; jvmm has no display to show it on
                }
            }
        }
        return v;
    }
}
