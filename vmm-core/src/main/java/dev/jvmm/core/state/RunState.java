package dev.jvmm.core.state;

/** QEMU's RunState values, spelled on the wire as {@link #qapiName()}. */
public enum RunState {
    DEBUG("debug"),
    INMIGRATE("inmigrate"),
    INTERNAL_ERROR("internal-error"),
    IO_ERROR("io-error"),
    PAUSED("paused"),
    POSTMIGRATE("postmigrate"),
    PRELAUNCH("prelaunch"),
    FINISH_MIGRATE("finish-migrate"),
    RESTORE_VM("restore-vm"),
    RUNNING("running"),
    SAVE_VM("save-vm"),
    SHUTDOWN("shutdown"),
    SUSPENDED("suspended"),
    WATCHDOG("watchdog"),
    GUEST_PANICKED("guest-panicked"),
    COLO("colo");

    private final String qapiName;

    RunState(String qapiName) {
        this.qapiName = qapiName;
    }

    public String qapiName() {
        return qapiName;
    }

    /** QEMU's query-status "running" flag: true only in the running state. */
    public boolean isRunning() {
        return this == RUNNING;
    }

    public static RunState fromQapiName(String name) {
        for (RunState s : values()) {
            if (s.qapiName.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown run state " + name);
    }
}
