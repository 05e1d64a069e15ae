package dev.jvmm.qmp;

import dev.jvmm.core.machine.KvmInfo;
import dev.jvmm.core.machine.MachineInfo;
import dev.jvmm.core.machine.MachineTypeInfo;
import dev.jvmm.core.machine.VcpuInfo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * The machine queries (query-target, query-kvm, query-name, query-uuid, query-machines, query-cpus-fast,
 * query-hotpluggable-cpus, query-iothreads) over {@link MachineInfo}.
 */
final class QmpMachine {
    private QmpMachine() {
    }

    static void declare(Schema s, MachineInfo info) {
        QType.Struct noArgs = QmpCommands.NO_ARGS;
        QType.Struct cpuProps = QType.struct("CpuInstanceProperties", opt("node-id", QType.INT),
                opt("socket-id", QType.INT), opt("die-id", QType.INT), opt("cluster-id", QType.INT),
                opt("core-id", QType.INT), opt("thread-id", QType.INT));

        s.command("query-target", noArgs, QType.struct("TargetInfo", req("arch", QType.STR)),
                a -> QmpCommands.obj("arch", info.targetArch()));
        s.command("query-kvm", noArgs, QType.struct("KvmInfo", req("enabled", QType.BOOL),
                req("present", QType.BOOL)), a -> {
                    KvmInfo k = info.kvm();
                    return QmpCommands.obj("enabled", k.enabled(), "present", k.present());
                });
        s.command("query-name", noArgs, QType.struct("NameInfo", opt("name", QType.STR)),
                a -> info.name().<Map<String, Object>>map(n -> QmpCommands.obj("name", n))
                        .orElseGet(LinkedHashMap::new));
        s.command("query-uuid", noArgs, QType.struct("UuidInfo", req("UUID", QType.STR)),
                a -> QmpCommands.obj("UUID",
                        info.uuid().map(Object::toString).orElse("00000000-0000-0000-0000-000000000000")));
        s.command("query-machines", QType.struct("q_obj_query-machines-arg", opt("compat-props", QType.BOOL)),
                QType.array(QType.struct("MachineInfo", req("name", QType.STR), opt("alias", QType.STR),
                        opt("is-default", QType.BOOL), req("cpu-max", QType.INT),
                        req("hotpluggable-cpus", QType.BOOL), req("numa-mem-supported", QType.BOOL),
                        req("deprecated", QType.BOOL), opt("default-cpu-type", QType.STR),
                        opt("default-ram-id", QType.STR))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (MachineTypeInfo t : info.machineTypes()) {
                        out.add(machineType(t));
                    }
                    return out;
                });
        s.command("query-cpus-fast", noArgs, QType.array(QType.struct("CpuInfoFast", req("cpu-index", QType.INT),
                req("qom-path", QType.STR), req("thread-id", QType.INT), opt("props", cpuProps),
                req("target", QType.STR))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (VcpuInfo v : info.vcpus()) {
                        out.add(QmpCommands.obj("thread-id", v.threadId(), "props", props(v), "qom-path",
                                v.qomPath(), "cpu-index", (long) v.cpuIndex(), "target", info.targetArch()));
                    }
                    return out;
                });
        s.command("query-hotpluggable-cpus", noArgs, QType.array(QType.struct("HotpluggableCPU",
                req("type", QType.STR), req("vcpus-count", QType.INT), req("props", cpuProps),
                opt("qom-path", QType.STR))), a -> {
                    if (!info.hotpluggableCpus()) {
                        throw QmpError.generic("The feature 'query-hotpluggable-cpus' is not enabled");
                    }
                    List<Object> out = new ArrayList<>();
                    // QEMU lists the highest slot first.
                    List<VcpuInfo> vs = new ArrayList<>(info.possibleVcpus());
                    Collections.reverse(vs);
                    for (VcpuInfo v : vs) {
                        Map<String, Object> o = QmpCommands.obj("props", props(v), "vcpus-count", 1L);
                        if (v.qomPath() != null) {
                            o.put("qom-path", v.qomPath());
                        }
                        o.put("type", v.type());
                        out.add(o);
                    }
                    return out;
                });
        s.command("query-iothreads", noArgs, QType.array(QType.struct("IOThreadInfo", req("id", QType.STR),
                req("thread-id", QType.INT), req("poll-max-ns", QType.INT), req("poll-grow", QType.INT),
                req("poll-shrink", QType.INT), req("aio-max-batch", QType.INT))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (dev.jvmm.core.objects.IoThread t : info.iothreads()) {
                        // members in QEMU 7.2's order
                        out.add(QmpCommands.obj("poll-shrink", t.pollShrink(), "thread-id", (long) t.threadId(),
                                "aio-max-batch", t.aioMaxBatch(), "poll-grow", t.pollGrow(),
                                "poll-max-ns", t.pollMaxNs(), "id", t.id()));
                    }
                    return out;
                });
    }

    /** One query-machines entry, members in the order QEMU 7.2 writes them. */
    private static Map<String, Object> machineType(MachineTypeInfo t) {
        Map<String, Object> o = QmpCommands.obj("hotpluggable-cpus", t.hotpluggableCpus(), "name", t.name(),
                "numa-mem-supported", t.numaMemSupported());
        if (t.defaultCpuType() != null) {
            o.put("default-cpu-type", t.defaultCpuType());
        }
        if (t.isDefault()) {
            o.put("is-default", true);
        }
        o.put("cpu-max", (long) t.cpuMax());
        o.put("deprecated", t.deprecated());
        o.put("default-ram-id", t.defaultRamId());
        if (t.alias() != null) {
            o.put("alias", t.alias());
        }
        return o;
    }

    private static Map<String, Object> props(VcpuInfo v) {
        return QmpCommands.obj("core-id", (long) v.coreId(), "thread-id", (long) v.threadIdProp(), "socket-id",
                (long) v.socketId());
    }
}
