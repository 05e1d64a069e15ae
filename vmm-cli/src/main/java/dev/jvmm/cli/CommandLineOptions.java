package dev.jvmm.cli;

import dev.jvmm.core.machine.CommandLineOption;

import java.util.List;

/**
 * query-command-line-options as jvmm's own command line answers it: QEMU 7.2's option groups for the options
 * jvmm takes, each with only the parameters jvmm's parser accepts (QEMU's names, order and types). libvirt
 * reads some capabilities from this list (-sandbox, for one), so an option or parameter belongs here only
 * once jvmm honours it.
 */
final class CommandLineOptions {
    /** The options, in the order QEMU lists them. */
    static final List<CommandLineOption> ALL = List.of(
            option("machine", p("suppress-vmdesc", "boolean"), p("firmware", "string"), p("usb", "boolean"),
                    p("mem-merge", "boolean"), p("dump-guest-core", "boolean"), p("dt_compatible", "string"),
                    p("phandle_start", "number"), p("dumpdtb", "string"), p("dtb", "string"),
                    p("append", "string"), p("initrd", "string"), p("kernel", "string"),
                    p("kvm_shadow_mem", "size"), p("kernel_irqchip", "boolean"), p("accel", "string"),
                    p("type", "string")),
            option("sandbox", p("resourcecontrol", "string"), p("spawn", "string"),
                    p("elevateprivileges", "string"), p("obsolete", "string"), p("enable", "boolean")),
            option("smbios"),
            option("action", p("watchdog", "string"), p("panic", "string"), p("reboot", "string"),
                    p("shutdown", "string")),
            option("fw_cfg", p("gen_id", "string"), p("string", "string"), p("file", "string"),
                    p("name", "string")),
            option("name", p("debug-threads", "boolean"), p("process", "string"), p("guest", "string")),
            option("msg", p("guest-name", "boolean"), p("timestamp", "boolean")),
            option("overcommit", p("cpu-pm", "boolean"), p("mem-lock", "boolean")),
            option("object"),
            option("add-fd", p("opaque", "string"), p("set", "number"), p("fd", "number")),
            option("boot-opts", p("strict", "boolean"), p("reboot-timeout", "number"),
                    p("splash-time", "number"), p("splash", "string"), p("menu", "boolean"), p("once", "string"),
                    p("order", "string")),
            option("smp-opts", p("maxcpus", "number"), p("threads", "number"), p("cores", "number"),
                    p("clusters", "number"), p("dies", "number"), p("sockets", "number"), p("cpus", "number")),
            option("memory", p("maxmem", "size"), p("slots", "number"), p("size", "size")),
            option("accel"),
            option("mon", p("pretty", "boolean"), p("chardev", "string"), p("mode", "string")),
            option("global", p("value", "string"), p("property", "string"), p("driver", "string")),
            option("rtc", p("driftfix", "string"), p("clock", "string"), p("base", "string")),
            option("net"),
            option("nic"),
            option("netdev"),
            option("device"),
            option("chardev", p("append", "boolean"), p("signal", "boolean"), p("mux", "boolean"),
                    p("reconnect", "number"), p("server", "boolean"), p("wait", "boolean"), p("fd", "string"),
                    p("port", "string"), p("host", "string"), p("path", "string")),
            option("drive", p("werror", "string"), p("rerror", "string"), p("read-only", "boolean"),
                    p("file", "string"), p("if", "string"), p("media", "string"), p("index", "number"),
                    p("unit", "number"), p("bus", "number"), p("detect-zeroes", "string"),
                    p("werror", "string"), p("format", "string"), p("aio", "string"), p("snapshot", "boolean"),
                    p("force-share", "boolean"), p("discard", "string"), p("cache.no-flush", "boolean"),
                    p("cache.direct", "boolean"), p("node-name", "string")));

    private CommandLineOptions() {
    }

    private static CommandLineOption option(String name, CommandLineOption.Parameter... params) {
        return new CommandLineOption(name, List.of(params));
    }

    private static CommandLineOption.Parameter p(String name, String type) {
        return new CommandLineOption.Parameter(name, type);
    }
}
