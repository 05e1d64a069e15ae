package dev.jvmm.qmp;

import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.BalloonControl;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.MemoryControl;
import dev.jvmm.core.machine.NetControl;
import dev.jvmm.core.net.NetdevArgs;
import dev.jvmm.core.machine.QemuVersion;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.state.RunState;

/** The HMP subset behind human-monitor-command; output as QEMU prints it, lines ending CRLF. */
final class Hmp {
    private final LifecycleController lifecycle;
    private final MachineInfo info;
    private final BalloonControl balloon;
    private final NetControl net;
    private final HmpRuntime runtime;
    private final MemoryControl memory;

    Hmp(LifecycleController lifecycle, MachineInfo info, BalloonControl balloon, NetControl net,
            HmpRuntime runtime, MemoryControl memory) {
        this.lifecycle = lifecycle;
        this.info = info;
        this.balloon = balloon;
        this.net = net;
        this.runtime = runtime;
        this.memory = memory;
    }

    String execute(String line, Object cpuIndex) throws QmpError {
        String cmd = line.trim().replaceAll("\\s+", " ");
        if (cmd.equals("watchdog_action") || cmd.startsWith("watchdog_action ")) {
            return watchdogAction(cmd.substring("watchdog_action".length()).trim());
        }
        if (cmd.equals("balloon") || cmd.startsWith("balloon ")) {
            return balloon(cmd.substring("balloon".length()).trim());
        }
        String[] words = cmd.split(" ");
        if (HmpRuntime.handles(words[0])) {
            return crlf(runtime.execute(words[0], cmd.substring(words[0].length()).trim()));
        }
        switch (words[0]) {
            case "hostfwd_add", "hostfwd_remove", "netdev_add", "netdev_del", "set_link" -> {
                return crlf(network(words));
            }
            default -> {
            }
        }
        return switch (cmd) {
            case "info balloon" -> {
                try {
                    yield crlf("balloon: actual=" + (balloon.actual() >> 20) + "\n");
                } catch (MachineCommandException e) {
                    yield crlf("Error: " + e.getMessage() + "\n");
                }
            }
            case "info network" -> crlf(net.infoNetwork());
            case "info status" -> crlf("VM status: " + status(lifecycle.runState().current()) + "\n");
            case "info version" -> {
                QemuVersion v = info.version();
                yield crlf(v.major() + "." + v.minor() + "." + v.micro() + v.pkg() + "\n");
            }
            case "info cpus" -> cpus(cpuIndex instanceof Long l ? l.intValue() : 0);
            case "info name" -> info.name().map(n -> crlf(n + "\n")).orElse("");
            case "info uuid" -> crlf(info.uuid().map(Object::toString)
                    .orElse("00000000-0000-0000-0000-000000000000") + "\n");
            case "info kvm" -> crlf("kvm support: " + (info.kvm().enabled() ? "enabled" : "disabled") + "\n");
            case "info iothreads" -> "";
            case "info memory-devices" -> crlf(memoryDevices());
            case "stop" -> {
                lifecycle.stop();
                yield "";
            }
            case "cont", "c" -> {
                try {
                    lifecycle.cont();
                    yield "";
                } catch (MachineCommandException e) {
                    yield crlf("Error: " + e.getMessage() + "\n");
                }
            }
            case "system_reset" -> {
                lifecycle.systemReset();
                yield "";
            }
            case "system_powerdown" -> {
                lifecycle.systemPowerdown();
                yield "";
            }
            case "info registers" -> registers(cpuIndex instanceof Long l ? l.intValue() : 0, false);
            case "info registers -a" -> registers(0, true);
            case "" -> "";
            default -> crlf("unknown command: '" + cmd + "'\n");
        };
    }

    /** HMP watchdog_action ACTION, with QEMU 7.2's texts for a missing or unknown action. */
    private String watchdogAction(String arg) {
        if (arg.isEmpty()) {
            return crlf("watchdog_action: string expected\nTry \"help watchdog_action\" for more information\n");
        }
        ActionSettings.WatchdogAction a = ActionSettings.parse(ActionSettings.WatchdogAction.class, arg);
        if (a == null) {
            return crlf("Error: invalid parameter value: " + arg + "\n");
        }
        lifecycle.setActions(lifecycle.actions().withWatchdog(a));
        return "";
    }

    /**
     * HMP balloon: the target in MiB (QEMU's 'M' argument: a decimal or 0x number, no suffix), errors printed
     * as QEMU's argument parser and hmp_handle_error print them.
     */
    private String balloon(String arg) {
        String help = "Try \"help balloon\" for more information\n";
        if (arg.isEmpty()) {
            return crlf("unexpected end of expression\n" + help);
        }
        if (arg.startsWith("-")) {
            return crlf("enter a positive value\n" + help);
        }
        java.util.regex.Matcher n = java.util.regex.Pattern.compile("(0[xX][0-9a-fA-F]+|[0-9]+)(.*)").matcher(arg);
        if (!n.matches()) {
            return crlf("invalid char '" + arg.charAt(0) + "' in expression\n" + help);
        }
        if (!n.group(2).isBlank()) {
            return crlf("balloon: extraneous characters at the end of line\n" + help);
        }
        String digits = n.group(1);
        java.math.BigInteger v = digits.length() > 2 && (digits.charAt(1) == 'x' || digits.charAt(1) == 'X')
                ? new java.math.BigInteger(digits.substring(2), 16) : new java.math.BigInteger(digits);
        if (v.bitLength() > 63 - 20) {
            return crlf("number too large\n" + help);
        }
        try {
            balloon.balloon(v.longValue() << 20);
            return "";
        } catch (MachineCommandException e) {
            return crlf("Error: " + e.getMessage() + "\n");
        }
    }

    /** hostfwd_add, hostfwd_remove, netdev_add, netdev_del and set_link, with QEMU's argument errors. */
    private String network(String[] w) {
        String cmd = w[0];
        String usage = "Try \"help " + cmd + "\" for more information\n";
        if (w.length < 2) {
            return cmd.equals("netdev_add") ? "Error: Parameter 'id' is missing\n"
                    : cmd + ": string expected\n" + usage;
        }
        int max = cmd.startsWith("hostfwd") || cmd.equals("set_link") ? 3 : 2;
        if (w.length > max) {
            return cmd + ": extraneous characters at the end of line\n" + usage;
        }
        try {
            switch (cmd) {
                case "hostfwd_add":
                    return w.length == 3 ? net.hostfwdAdd(w[1], w[2]) : net.hostfwdAdd(null, w[1]);
                case "hostfwd_remove":
                    return w.length == 3 ? net.hostfwdRemove(w[1], w[2]) : net.hostfwdRemove(null, w[1]);
                case "netdev_del":
                    net.netdevDel(w[1]);
                    return "";
                case "set_link":
                    if (w.length < 3 || !(w[2].equals("on") || w[2].equals("off"))) {
                        return "Expected 'on' or 'off'\n" + usage;
                    }
                    net.setLink(w[1], w[2].equals("on"));
                    return "";
                default:
                    return netdevAdd(w[1], usage);
            }
        } catch (MachineCommandException e) {
            return "Error: " + e.getMessage() + "\n";
        }
    }

    /** HMP netdev_add TYPE,id=ID,...: the command line's syntax and messages, QMP's checks. */
    private String netdevAdd(String text, String usage) throws MachineCommandException {
        NetdevArgs.Parsed p;
        try {
            p = NetdevArgs.parse(text);
        } catch (dev.jvmm.core.config.OptionException e) {
            return "Error: " + e.getMessage() + "\n";
        }
        if (p.id() == null) {
            return "Error: Parameter 'id' is missing\n";
        }
        if (p.type() == null) {
            return "Error: Parameter 'type' is missing\n";
        }
        try {
            net.netdevAdd(p.type(), p.id(), p.args(), null);
            return "";
        } catch (MachineCommandException e) {
            if (e.getMessage().startsWith("Duplicate ID ")) {
                // QEMU's monitor refuses the duplicate while parsing the argument and prints only its usage line
                return usage;
            }
            return "Error: " + p.message(e.getMessage()) + "\n";
        }
    }

    private static String status(RunState s) {
        if (s == RunState.RUNNING) {
            return "running";
        }
        return s == RunState.PAUSED ? "paused" : "paused (" + s.qapiName() + ")";
    }

    /** QEMU's "info cpus": one line per vCPU with its host thread id, '*' on the monitor's current CPU. */
    private String cpus(int current) {
        StringBuilder sb = new StringBuilder();
        for (VcpuInfo v : info.vcpus()) {
            sb.append(v.cpuIndex() == current ? "* " : "  ").append("CPU #").append(v.cpuIndex())
                    .append(": thread_id=").append(v.threadId()).append('\n');
        }
        return crlf(sb.toString());
    }

    private String registers(int cpu, boolean all) throws QmpError {
        StringBuilder sb = new StringBuilder();
        boolean found = false;
        for (VcpuInfo v : info.vcpus()) {
            if (all || v.cpuIndex() == cpu) {
                found = true;
                sb.append("\nCPU#").append(v.cpuIndex()).append('\n').append(info.registersText(v.cpuIndex()));
            }
        }
        if (!found) {
            throw QmpError.generic("Parameter 'cpu-index' expects a CPU number");
        }
        return crlf(sb.toString());
    }

    private static String crlf(String s) {
        return s.replace("\r\n", "\n").replace("\n", "\r\n");
    }

    /** QEMU's hmp_info_memory_devices: one block per DIMM, "" for an anonymous one. */
    private String memoryDevices() {
        StringBuilder b = new StringBuilder();
        for (MemoryControl.DimmInfo d : memory.memoryDevices()) {
            b.append("Memory device [dimm]: \"").append(d.id() != null ? d.id() : "").append("\"\n")
                    .append("  addr: 0x").append(Long.toHexString(d.addr())).append('\n')
                    .append("  slot: ").append(d.slot()).append('\n')
                    .append("  node: ").append(d.node()).append('\n')
                    .append("  size: ").append(Long.toUnsignedString(d.size())).append('\n')
                    .append("  memdev: ").append(d.memdev()).append('\n')
                    .append("  hotplugged: ").append(d.hotplugged()).append('\n')
                    .append("  hotpluggable: ").append(d.hotpluggable()).append('\n');
        }
        return b.toString();
    }
}
