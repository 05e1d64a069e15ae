package dev.jvmm.core.net;

/** A user-mode backend's host forwarding, for HMP hostfwd_add and hostfwd_remove. */
public interface HostForwards {
    /** Adds a rule written as -netdev user's hostfwd= ("tcp:127.0.0.1:2222-:22"). */
    void addHostForward(String rule) throws NetdevException;

    /** Removes the rule "[tcp|udp]:[hostaddr]:hostport"; returns QEMU's HMP text for the outcome. */
    String removeHostForward(String rule) throws NetdevException;
}
