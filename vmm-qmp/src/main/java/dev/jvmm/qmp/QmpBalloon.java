package dev.jvmm.qmp;

import dev.jvmm.core.machine.BalloonControl;

import static dev.jvmm.qmp.QType.Member.req;

/** balloon and query-balloon, with QEMU 7.2's arguments and errors, and the BALLOON_CHANGE event. */
final class QmpBalloon {
    private QmpBalloon() {
    }

    static void declare(Schema s, BalloonControl balloon) {
        s.action("balloon", QType.struct("q_obj_balloon-arg", req("value", QType.INT)), a -> {
            if (!(a.get("value") instanceof Long v)) {
                throw QmpError.generic("Invalid parameter type for 'value', expected: integer");
            }
            balloon.balloon(v);
        });
        s.command("query-balloon", QmpCommands.NO_ARGS, QType.struct("BalloonInfo", req("actual", QType.INT)),
                a -> QmpCommands.obj("actual", balloon.actual()));
        s.event("BALLOON_CHANGE", QType.struct("q_obj_BALLOON_CHANGE-arg", req("actual", QType.INT)));
    }
}
