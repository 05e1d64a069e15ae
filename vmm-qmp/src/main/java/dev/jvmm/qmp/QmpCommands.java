package dev.jvmm.qmp;

import dev.jvmm.core.machine.MachineControl;
import dev.jvmm.core.machine.QemuVersion;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * Declares jvmm's commands and events (QEMU 7.2's names, arguments and return shapes): the protocol commands
 * here, the rest in one group per subsystem, each given only the machine handles it uses.
 */
final class QmpCommands {
    private QmpCommands() {
    }

    static final QType.Struct NO_ARGS = Schema.EMPTY;

    static Schema build(MachineControl m, QmpServer server) {
        Schema s = new Schema();

        QType.Enum capability = new QType.Enum("QMPCapability", List.of("oob"));
        QType.Struct versionTriple = QType.struct("VersionTriple", req("micro", QType.INT), req("minor", QType.INT),
                req("major", QType.INT));
        QType.Struct versionInfo = QType.struct("VersionInfo", req("qemu", versionTriple), req("package", QType.STR));

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

        s.command("query-version", NO_ARGS, versionInfo, a -> version(m.info().version()));
        s.command("query-commands", NO_ARGS,
                QType.array(QType.struct("CommandInfo", req("name", QType.STR))), a -> s.queryCommands());
        s.command("query-qmp-schema", NO_ARGS, QType.array(schemaInfo()), a -> s.queryQmpSchema());
        s.command("query-events", NO_ARGS, QType.array(QType.struct("EventInfo", req("name", QType.STR))),
                a -> {
                    List<Object> out = new ArrayList<>();
                    for (Schema.Event e : s.events()) {
                        out.add(obj("name", e.name()));
                    }
                    return out;
                });

        QmpRunState.declare(s, m.lifecycle());
        QmpMachine.declare(s, m.info());
        QmpDevices.declare(s, m.chardevs(), server::monitorChardevs, m.pci(), m.rtc());
        QmpChardev.declare(s, m.chardevs(), server::monitorChardevs);
        QmpObjects.declare(s, m.objects());
        QmpBlock.declare(s, m.block());
        QmpBalloon.declare(s, m.balloon());
        QmpNet.declare(s, m.net());
        QmpHotplug.declare(s, m.hotplug());
        QmpMemory.declare(s, m.memory());
        QmpQom.declare(s, m.qom());
        QmpCpu.declare(s, m.cpuModels());
        QmpMigration.declare(s);
        QmpHostFeatures.declare(s);
        QmpFds.declare(s, m.fdSets());
        QmpCommandLine.declare(s, m.commandLineOptions());

        Hmp hmp = new Hmp(m.lifecycle(), m.info(), m.balloon(), m.net(),
                new HmpRuntime(m.chardevs(), m.objects(), server::monitorChardevs), m.memory());
        s.command("human-monitor-command", QType.struct("q_obj_human-monitor-command-arg",
                req("command-line", QType.STR), opt("cpu-index", QType.INT)), QType.STR,
                a -> hmp.execute((String) a.get("command-line"), a.get("cpu-index")));
        return s;
    }

    /**
     * SchemaInfo: QEMU's flat union by meta-type, declared as the union of its variants' members (each
     * optional), as "members" is of the enum, object and alternate variants' member types.
     */
    private static QType.Struct schemaInfo() {
        QType.Array features = QType.array(QType.STR);
        QType.Struct member = QType.struct("SchemaInfoMember", opt("name", QType.STR), opt("type", QType.STR),
                opt("default", QType.ANY), opt("features", features));
        QType.Struct variant = QType.struct("SchemaInfoObjectVariant", req("case", QType.STR),
                req("type", QType.STR));
        return QType.struct("SchemaInfo", req("name", QType.STR),
                req("meta-type", new QType.Enum("SchemaMetaType",
                        List.of("builtin", "enum", "array", "object", "alternate", "command", "event"))),
                opt("features", features),
                opt("json-type", new QType.Enum("JSONType",
                        List.of("string", "number", "int", "boolean", "null", "object", "array", "value"))),
                opt("members", QType.array(member)), opt("values", QType.array(QType.STR)),
                opt("element-type", QType.STR), opt("tag", QType.STR), opt("variants", QType.array(variant)),
                opt("arg-type", QType.STR), opt("ret-type", QType.STR), opt("allow-oob", QType.BOOL));
    }

    static Map<String, Object> version(QemuVersion v) {
        return obj("qemu", obj("micro", (long) v.micro(), "minor", (long) v.minor(), "major", (long) v.major()),
                "package", v.pkg());
    }

    /** An insertion-ordered object from key, value pairs. */
    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
