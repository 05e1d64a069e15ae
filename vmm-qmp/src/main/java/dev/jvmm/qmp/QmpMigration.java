package dev.jvmm.qmp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.jvmm.qmp.QType.Member.req;

/**
 * The migration capabilities jvmm can honour: only "events", which decides whether MIGRATION events would be
 * sent. jvmm cannot migrate, so it never sends one and no other capability is offered; QEMU's enum check
 * refuses the rest. libvirt reads the list when it probes and sets events=true when it starts a domain.
 */
final class QmpMigration {
    /** QEMU's MigrationCapability values that jvmm takes. */
    static final List<String> CAPABILITIES = List.of("events");

    private QmpMigration() {
    }

    static void declare(Schema s) {
        AtomicBoolean events = new AtomicBoolean();
        QType.Struct status = QType.struct("MigrationCapabilityStatus",
                req("capability", new QType.Enum("MigrationCapability", CAPABILITIES)), req("state", QType.BOOL));
        s.command("query-migrate-capabilities", QmpCommands.NO_ARGS, QType.array(status), a -> {
            List<Object> out = new ArrayList<>();
            out.add(QmpCommands.obj("state", events.get(), "capability", "events"));
            return out;
        });
        s.action("migrate-set-capabilities", QType.struct("q_obj_migrate-set-capabilities-arg",
                req("capabilities", QType.array(status))), a -> {
                    for (Object o : (List<?>) a.get("capabilities")) {
                        events.set((Boolean) ((Map<?, ?>) o).get("state"));
                    }
                });
    }
}
