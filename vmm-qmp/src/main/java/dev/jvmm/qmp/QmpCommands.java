package dev.jvmm.qmp;

import dev.jvmm.core.machine.ActionSettings;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.LifecycleController;
import dev.jvmm.core.machine.MachineCommandException;
import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.QemuVersion;
import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciDeviceInfo;
import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.core.machine.VcpuInfo;
import dev.jvmm.core.state.RunState;
import dev.jvmm.core.state.ShutdownCause;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/** Declares jvmm's commands and events (QEMU 7.2's names, arguments and return shapes) with their handlers. */
final class QmpCommands {
    private QmpCommands() {
    }

    static final QType.Struct NO_ARGS = QType.struct("q_empty");

    static Schema build(MachineControl m, QmpServer server) {
        LifecycleController lc = m.lifecycle();
        Schema s = new Schema();

        QType.Enum capability = new QType.Enum("QMPCapability", List.of("oob"));
        QType.Struct versionTriple = QType.struct("VersionTriple", req("micro", QType.INT), req("minor", QType.INT),
                req("major", QType.INT));
        QType.Struct versionInfo = QType.struct("VersionInfo", req("qemu", versionTriple), req("package", QType.STR));
        QType.Enum runState = new QType.Enum("RunState",
                Arrays.stream(RunState.values()).map(RunState::qapiName).toList());
        QType.Enum shutdownCause = new QType.Enum("ShutdownCause",
                Arrays.stream(ShutdownCause.values()).map(ShutdownCause::qapiName).toList());
        QType.Struct cpuProps = QType.struct("CpuInstanceProperties", opt("node-id", QType.INT),
                opt("socket-id", QType.INT), opt("die-id", QType.INT), opt("cluster-id", QType.INT),
                opt("core-id", QType.INT), opt("thread-id", QType.INT));

        s.command(new Schema.Command("qmp_capabilities",
                QType.struct("q_obj_qmp_capabilities-arg", opt("enable", QType.array(capability))), NO_ARGS, false,
                true, (args, session) -> {
                    if (session.negotiated()) {
                        throw new QmpError(QmpError.COMMAND_NOT_FOUND,
                                "Capabilities negotiation is already complete, command ignored");
                    }
                    Object en = args.get("enable");
                    session.negotiate(en instanceof List<?> l && l.contains("oob"));
                    return new LinkedHashMap<>();
                }));

        s.command("query-version", NO_ARGS, versionInfo, (a, x) -> version(m.version()));
        s.command("query-commands", NO_ARGS,
                QType.array(QType.struct("CommandInfo", req("name", QType.STR))), (a, x) -> s.queryCommands());
        s.command("query-qmp-schema", NO_ARGS, QType.array(QType.struct("SchemaInfo", req("name", QType.STR),
                req("meta-type", QType.STR))), (a, x) -> s.queryQmpSchema());
        s.command("query-events", NO_ARGS, QType.array(QType.struct("EventInfo", req("name", QType.STR))),
                (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    for (Schema.Event e : s.events()) {
                        out.add(obj("name", e.name()));
                    }
                    return out;
                });
        s.command("query-status", NO_ARGS, QType.struct("StatusInfo", req("running", QType.BOOL),
                req("singlestep", QType.BOOL), req("status", runState)), (a, x) -> {
                    RunState st = m.runState();
                    return obj("status", st.qapiName(), "singlestep", false, "running", st.isRunning());
                });
        s.command("query-target", NO_ARGS, QType.struct("TargetInfo", req("arch", QType.STR)),
                (a, x) -> obj("arch", m.targetArch()));
        s.command("query-kvm", NO_ARGS, QType.struct("KvmInfo", req("enabled", QType.BOOL),
                req("present", QType.BOOL)), (a, x) -> {
                    KvmInfo k = m.kvm();
                    return obj("enabled", k.enabled(), "present", k.present());
                });
        s.command("query-name", NO_ARGS, QType.struct("NameInfo", opt("name", QType.STR)),
                (a, x) -> m.name().<Map<String, Object>>map(n -> obj("name", n)).orElseGet(LinkedHashMap::new));
        s.command("query-uuid", NO_ARGS, QType.struct("UuidInfo", req("UUID", QType.STR)),
                (a, x) -> obj("UUID", m.uuid().map(Object::toString).orElse("00000000-0000-0000-0000-000000000000")));
        s.command("query-machines", QType.struct("q_obj_query-machines-arg", opt("compat-props", QType.BOOL)),
                QType.array(QType.struct("MachineInfo", req("name", QType.STR), opt("alias", QType.STR),
                        opt("is-default", QType.BOOL), req("cpu-max", QType.INT),
                        req("hotpluggable-cpus", QType.BOOL), req("numa-mem-supported", QType.BOOL),
                        req("deprecated", QType.BOOL), opt("default-cpu-type", QType.STR),
                        opt("default-ram-id", QType.STR))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    for (MachineTypeInfo t : m.machineTypes()) {
                        Map<String, Object> o = obj("hotpluggable-cpus", t.hotpluggableCpus(), "name", t.name(),
                                "numa-mem-supported", t.numaMemSupported(), "default-cpu-type", t.defaultCpuType());
                        if (t.isDefault()) {
                            o.put("is-default", true);
                        }
                        o.put("cpu-max", (long) t.cpuMax());
                        o.put("deprecated", t.deprecated());
                        o.put("default-ram-id", t.defaultRamId());
                        if (t.alias() != null) {
                            o.put("alias", t.alias());
                        }
                        out.add(o);
                    }
                    return out;
                });
        s.command("query-cpus-fast", NO_ARGS, QType.array(QType.struct("CpuInfoFast", req("cpu-index", QType.INT),
                req("qom-path", QType.STR), req("thread-id", QType.INT), opt("props", cpuProps),
                req("target", QType.STR))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    for (VcpuInfo v : m.vcpus()) {
                        out.add(obj("thread-id", v.threadId(), "props", props(v), "qom-path", v.qomPath(),
                                "cpu-index", (long) v.cpuIndex(), "target", m.targetArch()));
                    }
                    return out;
                });
        s.command("query-hotpluggable-cpus", NO_ARGS, QType.array(QType.struct("HotpluggableCPU",
                req("type", QType.STR), req("vcpus-count", QType.INT), req("props", cpuProps),
                opt("qom-path", QType.STR))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    // QEMU lists the highest slot first.
                    List<VcpuInfo> vs = new ArrayList<>(m.vcpus());
                    java.util.Collections.reverse(vs);
                    for (VcpuInfo v : vs) {
                        out.add(obj("props", props(v), "vcpus-count", 1L, "qom-path", v.qomPath(), "type",
                                v.type()));
                    }
                    return out;
                });
        s.command("query-chardev", NO_ARGS, QType.array(QType.struct("ChardevInfo", req("label", QType.STR),
                req("filename", QType.STR), req("frontend-open", QType.BOOL))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    List<ChardevInfo> all = new ArrayList<>(m.chardevs());
                    all.addAll(server.monitorChardevs());
                    for (ChardevInfo c : all) {
                        out.add(obj("frontend-open", c.frontendOpen(), "filename", c.filename(), "label", c.label()));
                    }
                    return out;
                });
        s.command("query-iothreads", NO_ARGS, QType.array(QType.struct("IOThreadInfo", req("id", QType.STR),
                req("thread-id", QType.INT), req("poll-max-ns", QType.INT), req("poll-grow", QType.INT),
                req("poll-shrink", QType.INT), req("aio-max-batch", QType.INT))), (a, x) -> new ArrayList<>());

        QType.Struct pciRegion = QType.struct("PciMemoryRegion", req("bar", QType.INT), req("type", QType.STR),
                req("address", QType.INT), req("size", QType.INT), opt("prefetch", QType.BOOL),
                opt("mem_type_64", QType.BOOL));
        QType.Struct pciDevice = QType.struct("PciDeviceInfo", req("bus", QType.INT), req("slot", QType.INT),
                req("function", QType.INT), req("class_info", QType.struct("PciDeviceClass",
                        opt("desc", QType.STR), req("class", QType.INT))),
                req("id", QType.struct("PciDeviceId", req("device", QType.INT), req("vendor", QType.INT),
                        opt("subsystem", QType.INT), opt("subsystem-vendor", QType.INT))),
                opt("irq", QType.INT), req("irq_pin", QType.INT), req("qdev_id", QType.STR),
                req("regions", QType.array(pciRegion)));
        s.command("query-pci", NO_ARGS, QType.array(QType.struct("PciInfo", req("bus", QType.INT),
                req("devices", QType.array(pciDevice)))), (a, x) -> {
                    List<Object> out = new ArrayList<>();
                    for (PciBusInfo b : m.pciBuses()) {
                        List<Object> devices = new ArrayList<>();
                        for (PciDeviceInfo d : b.devices()) {
                            devices.add(pciDevice(d));
                        }
                        out.add(obj("bus", (long) b.bus(), "devices", devices));
                    }
                    return out;
                });
        QmpBlock.declare(s, m);
        QmpBalloon.declare(s, m);
        s.command("rtc-reset-reinjection", NO_ARGS, NO_ARGS, (a, x) -> {
            m.rtcResetReinjection();
            return new LinkedHashMap<>();
        });

        s.command("stop", NO_ARGS, NO_ARGS, (a, x) -> {
            lc.stop();
            return new LinkedHashMap<>();
        });
        s.command("cont", NO_ARGS, NO_ARGS, (a, x) -> {
            try {
                lc.cont();
            } catch (MachineCommandException e) {
                throw new QmpError(e.errorClass(), e.getMessage());
            }
            return new LinkedHashMap<>();
        });
        s.command("system_reset", NO_ARGS, NO_ARGS, (a, x) -> {
            lc.systemReset();
            return new LinkedHashMap<>();
        });
        s.command("system_powerdown", NO_ARGS, NO_ARGS, (a, x) -> {
            lc.systemPowerdown();
            return new LinkedHashMap<>();
        });
        s.command("system_wakeup", NO_ARGS, NO_ARGS, (a, x) -> {
            try {
                lc.systemWakeup();
            } catch (MachineCommandException e) {
                throw new QmpError(e.errorClass(), e.getMessage());
            }
            return new LinkedHashMap<>();
        });
        s.command("quit", NO_ARGS, NO_ARGS, (a, x) -> {
            lc.quit();
            return new LinkedHashMap<>();
        });

        QType.Enum rebootAction = new QType.Enum("RebootAction", ActionSettings.names(ActionSettings.RebootAction.class));
        QType.Enum shutdownAction = new QType.Enum("ShutdownAction",
                ActionSettings.names(ActionSettings.ShutdownAction.class));
        QType.Enum panicAction = new QType.Enum("PanicAction", ActionSettings.names(ActionSettings.PanicAction.class));
        QType.Enum watchdogAction = new QType.Enum("WatchdogAction",
                ActionSettings.names(ActionSettings.WatchdogAction.class));
        s.command("set-action", QType.struct("q_obj_set-action-arg", opt("reboot", rebootAction),
                opt("shutdown", shutdownAction), opt("panic", panicAction), opt("watchdog", watchdogAction)),
                NO_ARGS, (a, x) -> {
                    ActionSettings cur = lc.actions();
                    if (a.get("reboot") instanceof String v) {
                        cur = cur.withReboot(ActionSettings.parse(ActionSettings.RebootAction.class, v));
                    }
                    if (a.get("shutdown") instanceof String v) {
                        cur = cur.withShutdown(ActionSettings.parse(ActionSettings.ShutdownAction.class, v));
                    }
                    if (a.get("panic") instanceof String v) {
                        cur = cur.withPanic(ActionSettings.parse(ActionSettings.PanicAction.class, v));
                    }
                    if (a.get("watchdog") instanceof String v) {
                        cur = cur.withWatchdog(ActionSettings.parse(ActionSettings.WatchdogAction.class, v));
                    }
                    lc.setActions(cur);
                    return new LinkedHashMap<>();
                });
        s.command("watchdog-set-action", QType.struct("q_obj_watchdog-set-action-arg",
                req("action", watchdogAction)), NO_ARGS, (a, x) -> {
                    lc.setActions(lc.actions().withWatchdog(
                            ActionSettings.parse(ActionSettings.WatchdogAction.class, (String) a.get("action"))));
                    return new LinkedHashMap<>();
                });
        s.command("human-monitor-command", QType.struct("q_obj_human-monitor-command-arg",
                req("command-line", QType.STR), opt("cpu-index", QType.INT)), QType.STR,
                (a, x) -> Hmp.execute(m, (String) a.get("command-line"), a.get("cpu-index")));

        QType.Struct shutdownData = QType.struct("q_obj_SHUTDOWN-arg", req("guest", QType.BOOL),
                req("reason", shutdownCause));
        s.event("SHUTDOWN", shutdownData);
        s.event("POWERDOWN", NO_ARGS);
        s.event("RESET", QType.struct("q_obj_RESET-arg", req("guest", QType.BOOL), req("reason", shutdownCause)));
        s.event("STOP", NO_ARGS);
        s.event("RESUME", NO_ARGS);
        QType.Enum guestPanicAction = new QType.Enum("GuestPanicAction", List.of("pause", "poweroff", "run"));
        s.event("GUEST_PANICKED", QType.struct("q_obj_GUEST_PANICKED-arg", req("action", guestPanicAction)));
        s.event("WATCHDOG", QType.struct("q_obj_WATCHDOG-arg", req("action", watchdogAction)));
        s.event("GUEST_CRASHLOADED", QType.struct("q_obj_GUEST_CRASHLOADED-arg", req("action", guestPanicAction)));
        s.event("RTC_CHANGE", QType.struct("q_obj_RTC_CHANGE-arg", req("offset", QType.INT),
                req("qom-path", QType.STR)));
        s.event("SUSPEND", NO_ARGS);
        s.event("SUSPEND_DISK", NO_ARGS);
        s.event("WAKEUP", NO_ARGS);
        s.event("VSERPORT_CHANGE", QType.struct("q_obj_VSERPORT_CHANGE-arg", req("id", QType.STR),
                req("open", QType.BOOL)));
        s.event("BALLOON_CHANGE", QType.struct("q_obj_BALLOON_CHANGE-arg", req("actual", QType.INT)));
        return s;
    }

    private static Map<String, Object> props(VcpuInfo v) {
        return obj("core-id", (long) v.coreId(), "thread-id", (long) v.threadIdProp(), "socket-id",
                (long) v.socketId());
    }

    static Map<String, Object> version(QemuVersion v) {
        return obj("qemu", obj("micro", (long) v.micro(), "minor", (long) v.minor(), "major", (long) v.major()),
                "package", v.pkg());
    }

    /** An insertion-ordered object from key, value pairs. */
    /** One query-pci device, members in the order QEMU 7.2 writes them. */
    private static Map<String, Object> pciDevice(PciDeviceInfo d) {
        List<Object> regions = new ArrayList<>();
        for (PciRegionInfo r : d.regions()) {
            regions.add(r.io()
                    ? obj("bar", (long) r.bar(), "size", r.size(), "address", r.address(), "type", r.type())
                    : obj("prefetch", r.prefetch(), "mem_type_64", r.memType64(), "bar", (long) r.bar(),
                            "size", r.size(), "address", r.address(), "type", r.type()));
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("irq_pin", (long) d.irqPin());
        o.put("bus", (long) d.bus());
        o.put("qdev_id", d.qdevId());
        if (d.hasIrq()) {
            o.put("irq", (long) d.irq());
        }
        o.put("slot", (long) d.slot());
        // QEMU leaves "desc" out for classes it has no name for (0x0780 virtio-serial, 0x0880 i6300esb)
        o.put("class_info", d.classDesc() == null ? obj("class", (long) d.classCode())
                : obj("class", (long) d.classCode(), "desc", d.classDesc()));
        o.put("id", obj("device", (long) d.device(), "subsystem-vendor", (long) d.subsystemVendor(),
                "vendor", (long) d.vendor(), "subsystem", (long) d.subsystem()));
        o.put("function", (long) d.function());
        o.put("regions", regions);
        return o;
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
