package dev.jvmm.kvm.seccomp;

/** The groups of syscalls that -sandbox denies, one per QEMU 7.2 seccomp set. */
public enum DenyGroup {
    /** Always denied once the sandbox is on: host administration (reboot, swap, mount, kexec, syslog) and dead calls. */
    DEFAULT,
    /** Syscalls the kernel keeps only for old binaries; denied unless obsolete=allow. */
    OBSOLETE,
    /** Changing user, group, session or process group; elevateprivileges=deny|children. */
    ELEVATE_PRIVILEGES,
    /** Creating processes or namespaces and running programs; spawn=deny. */
    SPAWN,
    /** Changing scheduling, priority and CPU affinity; resourcecontrol=deny. */
    RESOURCE_CONTROL
}
