package dev.jvmm.core.state;

/** QEMU's ShutdownCause values, the "reason" of SHUTDOWN and RESET events. */
public enum ShutdownCause {
    NONE("none", false),
    HOST_ERROR("host-error", false),
    HOST_QMP_QUIT("host-qmp-quit", false),
    HOST_QMP_SYSTEM_RESET("host-qmp-system-reset", false),
    HOST_SIGNAL("host-signal", false),
    HOST_UI("host-ui", false),
    GUEST_SHUTDOWN("guest-shutdown", true),
    GUEST_RESET("guest-reset", true),
    GUEST_PANIC("guest-panic", true),
    SUBSYSTEM_RESET("subsystem-reset", false),
    SNAPSHOT_LOAD("snapshot-load", false);

    private final String qapiName;
    private final boolean guest;

    ShutdownCause(String qapiName, boolean guest) {
        this.qapiName = qapiName;
        this.guest = guest;
    }

    public String qapiName() {
        return qapiName;
    }

    /** The events' "guest" member: whether the guest itself asked. */
    public boolean isGuest() {
        return guest;
    }
}
