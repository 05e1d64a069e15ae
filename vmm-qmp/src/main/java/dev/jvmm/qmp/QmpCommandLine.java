package dev.jvmm.qmp;

import dev.jvmm.core.machine.CommandLineOption;

import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/** query-command-line-options over the machine's list of the options its command line takes. */
final class QmpCommandLine {
    private QmpCommandLine() {
    }

    static void declare(Schema s, List<CommandLineOption> options) {
        QType.Struct paramInfo = QType.struct("CommandLineParameterInfo", req("name", QType.STR),
                req("type", new QType.Enum("CommandLineParameterType", List.of("string", "boolean", "number",
                        "size"))), opt("help", QType.STR), opt("default", QType.STR));
        s.command("query-command-line-options", QType.struct("q_obj_query-command-line-options-arg",
                opt("option", QType.STR)), QType.array(QType.struct("CommandLineOptionInfo",
                        req("option", QType.STR), req("parameters", QType.array(paramInfo)))), a -> {
                    String option = (String) a.get("option");
                    List<Object> out = new ArrayList<>();
                    for (CommandLineOption o : options) {
                        if (option == null || option.equals(o.option())) {
                            List<Object> params = new ArrayList<>();
                            for (CommandLineOption.Parameter p : o.parameters()) {
                                params.add(QDictOrder.of("name", p.name(), "type", p.type()));
                            }
                            out.add(QDictOrder.of("option", o.option(), "parameters", params));
                        }
                    }
                    if (out.isEmpty()) {
                        throw QmpError.generic("invalid option name: " + option);
                    }
                    return out;
                });
    }
}
