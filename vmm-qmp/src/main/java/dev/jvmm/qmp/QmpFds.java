package dev.jvmm.qmp;

import dev.jvmm.core.fd.FdSets;
import dev.jvmm.core.fd.NamedFds;
import dev.jvmm.core.machine.MachineCommandException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * getfd, closefd, add-fd, remove-fd and query-fdsets with QEMU 7.2's arguments, answers and errors. The
 * descriptor getfd and add-fd take is the one sent (SCM_RIGHTS) with the command; named descriptors belong to
 * the client's monitor, fd sets to the machine.
 */
final class QmpFds {
    static final String NO_FD = "No file descriptor supplied via SCM_RIGHTS";

    private QmpFds() {
    }

    static void declare(Schema s, FdSets fdSets) {
        s.command("getfd", QType.struct("q_obj_getfd-arg", req("fdname", QType.STR)), Schema.EMPTY,
                (a, session) -> {
                    int fd = session == null ? -1 : session.takeFd();
                    if (fd < 0) {
                        throw MachineCommandException.generic(NO_FD);
                    }
                    session.namedFds().put((String) a.get("fdname"), fd);
                    return new LinkedHashMap<String, Object>();
                });
        s.command("closefd", QType.struct("q_obj_closefd-arg", req("fdname", QType.STR)), Schema.EMPTY,
                (a, session) -> {
                    // Without a client (an internal call) there is no monitor and so no named descriptor.
                    (session == null ? new NamedFds() : session.namedFds()).close((String) a.get("fdname"));
                    return new LinkedHashMap<String, Object>();
                });

        QType.Struct addfdInfo = QType.struct("AddfdInfo", req("fdset-id", QType.INT), req("fd", QType.INT));
        s.command("add-fd", QType.struct("q_obj_add-fd-arg", opt("fdset-id", QType.INT), opt("opaque", QType.STR)),
                addfdInfo, (a, session) -> {
                    int fd = session == null ? -1 : session.takeFd();
                    if (fd < 0) {
                        throw MachineCommandException.generic(NO_FD);
                    }
                    FdSets.Added r = fdSets.add(fd, intArg(a, "fdset-id"), (String) a.get("opaque"));
                    return QDictOrder.of("fdset-id", r.fdsetId(), "fd", (long) r.fd());
                });
        s.action("remove-fd", QType.struct("q_obj_remove-fd-arg", req("fdset-id", QType.INT),
                opt("fd", QType.INT)), a -> fdSets.remove(intArg(a, "fdset-id"), intArg(a, "fd")));

        QType.Struct fdInfo = QType.struct("FdsetFdInfo", req("fd", QType.INT), opt("opaque", QType.STR));
        QType.Struct setInfo = QType.struct("FdsetInfo", req("fdset-id", QType.INT), req("fds",
                QType.array(fdInfo)));
        s.command("query-fdsets", QmpCommands.NO_ARGS, QType.array(setInfo), a -> {
            List<Object> out = new ArrayList<>();
            for (FdSets.FdSetInfo set : fdSets.query()) {
                List<Object> fds = new ArrayList<>();
                for (FdSets.FdInfo f : set.fds()) {
                    fds.add(f.opaque() == null ? QDictOrder.of("fd", (long) f.fd())
                            : QDictOrder.of("fd", (long) f.fd(), "opaque", f.opaque()));
                }
                out.add(QDictOrder.of("fdset-id", set.id(), "fds", fds));
            }
            return out;
        });
    }

    /** An int argument as a long; one beyond int64 is refused as QEMU's input visitor refuses it. */
    private static Long intArg(Map<String, Object> a, String key) throws QmpError {
        Object v = a.get(key);
        if (v == null || v instanceof Long) {
            return (Long) v;
        }
        throw QmpError.generic("Parameter '" + key + "' expects int64");
    }
}
