package dev.jvmm.qmp;

import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.QemuVersion;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.state.RunState;

/** The HMP subset behind human-monitor-command; output as QEMU prints it, lines ending CRLF. */
final class Hmp {
    private Hmp() {
    }

    static String execute(MachineControl m, String line, Object cpuIndex) throws QmpError {
        String cmd = line.trim().replaceAll("\\s+", " ");
        if (cmd.equals("watchdog_action") || cmd.startsWith("watchdog_action ")) {
            return watchdogAction(m, cmd.substring("watchdog_action".length()).trim());
        }
        return switch (cmd) {
            case "info status" -> crlf("VM status: " + status(m.runState()) + "\n");
            case "info version" -> {
                QemuVersion v = m.version();
                yield crlf(v.major() + "." + v.minor() + "." + v.micro() + v.pkg() + "\n");
            }
            case "info registers" -> registers(m, cpuIndex instanceof Long l ? l.intValue() : 0, false);
            case "info registers -a" -> registers(m, 0, true);
            case "" -> "";
            default -> crlf("unknown command: '" + cmd + "'\n");
        };
    }

    /** HMP watchdog_action ACTION, with QEMU 7.2's texts for a missing or unknown action. */
    private static String watchdogAction(MachineControl m, String arg) {
        if (arg.isEmpty()) {
            return crlf("watchdog_action: string expected\nTry \"help watchdog_action\" for more information\n");
        }
        ActionSettings.WatchdogAction a = ActionSettings.parse(ActionSettings.WatchdogAction.class, arg);
        if (a == null) {
            return crlf("Error: invalid parameter value: " + arg + "\n");
        }
        m.lifecycle().setActions(m.lifecycle().actions().withWatchdog(a));
        return "";
    }

    private static String status(RunState s) {
        if (s == RunState.RUNNING) {
            return "running";
        }
        return s == RunState.PAUSED ? "paused" : "paused (" + s.qapiName() + ")";
    }

    private static String registers(MachineControl m, int cpu, boolean all) throws QmpError {
        StringBuilder sb = new StringBuilder();
        boolean found = false;
        for (VcpuInfo v : m.vcpus()) {
            if (all || v.cpuIndex() == cpu) {
                found = true;
                sb.append("\nCPU#").append(v.cpuIndex()).append('\n').append(m.registersText(v.cpuIndex()));
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
}
