package dev.jvmm.qmp;

import dev.jvmm.core.machine.CpuModelControl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/** query-cpu-definitions and query-cpu-model-expansion (QEMU 7.2's x86 shapes) over {@link CpuModelControl}. */
final class QmpCpu {
    private QmpCpu() {
    }

    static void declare(Schema s, CpuModelControl cpus) {
        s.command("query-cpu-definitions", QmpCommands.NO_ARGS, QType.array(QType.struct("CpuDefinitionInfo",
                req("name", QType.STR), opt("migration-safe", QType.BOOL), req("static", QType.BOOL),
                opt("unavailable-features", QType.array(QType.STR)), req("typename", QType.STR),
                opt("alias-of", QType.STR), req("deprecated", QType.BOOL))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (CpuModelControl.Definition d : cpus.definitions()) {
                        Map<String, Object> o = QmpCommands.obj("name", d.name(), "typename", d.typeName(),
                                "unavailable-features", new ArrayList<Object>(d.unavailableFeatures()));
                        if (d.aliasOf() != null) {
                            o.put("alias-of", d.aliasOf());
                        }
                        o.put("static", d.isStatic());
                        o.put("migration-safe", d.migrationSafe());
                        o.put("deprecated", d.deprecated());
                        out.add(o);
                    }
                    return out;
                });

        QType.Struct modelInfo = QType.struct("CpuModelInfo", req("name", QType.STR), opt("props", QType.ANY));
        s.command("query-cpu-model-expansion", QType.struct("q_obj_query-cpu-model-expansion-arg",
                req("type", new QType.Enum("CpuModelExpansionType", List.of("static", "full"))),
                req("model", modelInfo)), QType.struct("CpuModelExpansionInfo", req("model", modelInfo)), a -> {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> model = (Map<String, Object>) a.get("model");
                    Object props = model.getOrDefault("props", Map.of());
                    if (!(props instanceof Map<?, ?>)) {
                        throw QmpError.generic("Invalid parameter type for 'props', expected: object");
                    }
                    @SuppressWarnings("unchecked")
                    CpuModelControl.Expansion e = cpus.expand("full".equals(a.get("type")),
                            (String) model.get("name"), (Map<String, Object>) props);
                    return QmpCommands.obj("model", QmpCommands.obj("name", e.name(), "props", e.props()));
                });
    }
}
