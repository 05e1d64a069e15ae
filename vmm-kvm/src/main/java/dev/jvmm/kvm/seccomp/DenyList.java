package dev.jvmm.kvm.seccomp;

import java.util.ArrayList;
import java.util.List;

/**
 * The syscalls -sandbox denies, as QEMU 7.2's seccomp filter denies them: one declaration of group, syscall,
 * argument conditions and action, read by {@link Sandbox} to build the filter. Syscalls are named as libseccomp
 * names them; a name that does not exist on x86-64 (break, ftime, readdir, ...) is resolved by libseccomp to a
 * pseudo number, which adds no rule here, exactly as in QEMU.
 */
public final class DenyList {
    /** clone(2)'s flags are its first argument on x86-64. */
    private static final int CLONE_FLAGS_ARG = 0;
    /** clone(2): the low byte is the exit signal, not a flag. */
    private static final long CSIGNAL = 0x000000ffL;
    private static final long CLONE_VM = 0x00000100L;
    private static final long CLONE_FS = 0x00000200L;
    private static final long CLONE_FILES = 0x00000400L;
    private static final long CLONE_SIGHAND = 0x00000800L;
    private static final long CLONE_PIDFD = 0x00001000L;
    private static final long CLONE_PTRACE = 0x00002000L;
    private static final long CLONE_VFORK = 0x00004000L;
    private static final long CLONE_PARENT = 0x00008000L;
    private static final long CLONE_THREAD = 0x00010000L;
    private static final long CLONE_NEWNS = 0x00020000L;
    private static final long CLONE_SYSVSEM = 0x00040000L;
    private static final long CLONE_SETTLS = 0x00080000L;
    private static final long CLONE_PARENT_SETTID = 0x00100000L;
    private static final long CLONE_CHILD_CLEARTID = 0x00200000L;
    private static final long CLONE_UNTRACED = 0x00800000L;
    private static final long CLONE_NEWCGROUP = 0x02000000L;
    private static final long CLONE_NEWUTS = 0x04000000L;
    private static final long CLONE_NEWIPC = 0x08000000L;
    private static final long CLONE_NEWUSER = 0x10000000L;
    private static final long CLONE_NEWPID = 0x20000000L;
    private static final long CLONE_NEWNET = 0x40000000L;
    private static final long CLONE_IO = 0x80000000L;
    /** sched_setscheduler(2) policy SCHED_IDLE: lowering one's own priority stays allowed. */
    private static final long SCHED_IDLE = 5;
    private static final int ERRNO_EPERM = 1;
    private static final int ERRNO_ENOSYS = 38;

    /** What a matching syscall gets. */
    public enum Action {
        /** QEMU's "trap": the whole process is killed by SIGSYS where the kernel can (Linux 4.14), else SIGSYS is raised. */
        KILL,
        /**
         * The calling thread is killed. QEMU 7.2 declares execveat, setns and unshare without an action, which is
         * libseccomp's action 0, SCMP_ACT_KILL_THREAD; jvmm keeps that.
         */
        KILL_THREAD,
        /** The call fails with EPERM. */
        EPERM,
        /** The call fails with ENOSYS, so that glibc falls back from clone3 to clone, whose flags can be checked. */
        ENOSYS
    }

    /** One argument condition, as libseccomp's struct scmp_arg_cmp: (arg & datumA) == datumB, or arg != datumA. */
    public record ArgMatch(int arg, int op, long datumA, long datumB) {
        static ArgMatch maskedEq(int arg, long mask, long value) {
            return new ArgMatch(arg, SeccompLib.SCMP_CMP_MASKED_EQ, mask, value);
        }

        static ArgMatch ne(int arg, long value) {
            return new ArgMatch(arg, SeccompLib.SCMP_CMP_NE, value, 0);
        }
    }

    /** One rule: the syscall matches when every condition holds (no condition: always). */
    public record Rule(DenyGroup group, String syscall, Action action, List<ArgMatch> args) {
        public Rule {
            args = List.copyOf(args);
        }
    }

    /** Every rule, in QEMU's order. */
    public static final List<Rule> RULES = rules();

    private DenyList() {
    }

    /** The rules of the given groups, in order. */
    public static List<Rule> of(java.util.Set<DenyGroup> groups) {
        return RULES.stream().filter(r -> groups.contains(r.group())).toList();
    }

    private static List<Rule> rules() {
        List<Rule> r = new ArrayList<>();
        for (String s : List.of("reboot", "swapon", "swapoff", "syslog", "mount", "umount", "kexec_load",
                "afs_syscall", "break", "ftime", "getpmsg", "gtty", "lock", "mpx", "prof", "profil", "putpmsg",
                "security", "stty", "tuxcall", "ulimit", "vserver")) {
            r.add(new Rule(DenyGroup.DEFAULT, s, Action.KILL, List.of()));
        }
        for (String s : List.of("readdir", "_sysctl", "bdflush", "create_module", "get_kernel_syms",
                "query_module", "sgetmask", "ssetmask", "sysfs", "uselib", "ustat")) {
            r.add(new Rule(DenyGroup.OBSOLETE, s, Action.KILL, List.of()));
        }
        for (String s : List.of("setuid", "setgid", "setpgid", "setsid", "setreuid", "setregid", "setresuid",
                "setresgid", "setfsuid", "setfsgid")) {
            r.add(new Rule(DenyGroup.ELEVATE_PRIVILEGES, s, Action.KILL, List.of()));
        }
        for (String s : List.of("fork", "vfork", "execve")) {
            r.add(new Rule(DenyGroup.SPAWN, s, Action.KILL, List.of()));
        }
        // clone with no flag beyond the exit signal is fork.
        r.add(clone(ArgMatch.maskedEq(CLONE_FLAGS_ARG, ~CSIGNAL, 0)));
        // pthread_create sets every one of these; a clone lacking one makes a process, not a thread.
        for (long required : new long[] {CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD,
                CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID}) {
            r.add(clone(ArgMatch.maskedEq(CLONE_FLAGS_ARG, required, 0)));
        }
        // A thread never needs these: they make or trace a process, or enter new namespaces.
        for (long forbidden : new long[] {CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_NEWNS,
                CLONE_UNTRACED, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                CLONE_NEWNET, CLONE_IO}) {
            r.add(clone(ArgMatch.maskedEq(CLONE_FLAGS_ARG, forbidden, forbidden)));
        }
        // clone3 takes its flags in memory, which a filter cannot read.
        r.add(new Rule(DenyGroup.SPAWN, "clone3", Action.ENOSYS, List.of()));
        for (String s : List.of("execveat", "setns", "unshare")) {
            r.add(new Rule(DenyGroup.SPAWN, s, Action.KILL_THREAD, List.of()));
        }
        r.add(new Rule(DenyGroup.RESOURCE_CONTROL, "setpriority", Action.EPERM, List.of()));
        r.add(new Rule(DenyGroup.RESOURCE_CONTROL, "sched_setparam", Action.EPERM, List.of()));
        r.add(new Rule(DenyGroup.RESOURCE_CONTROL, "sched_setscheduler", Action.EPERM,
                List.of(ArgMatch.ne(1, SCHED_IDLE))));
        r.add(new Rule(DenyGroup.RESOURCE_CONTROL, "sched_setaffinity", Action.EPERM, List.of()));
        return List.copyOf(r);
    }

    private static Rule clone(ArgMatch condition) {
        return new Rule(DenyGroup.SPAWN, "clone", Action.KILL, List.of(condition));
    }

    /** libseccomp's action value; killProcess says whether the kernel has SECCOMP_RET_KILL_PROCESS. */
    static int actionValue(Action a, boolean killProcess) {
        return switch (a) {
            case KILL -> killProcess ? SeccompLib.SCMP_ACT_KILL_PROCESS : SeccompLib.SCMP_ACT_TRAP;
            case KILL_THREAD -> SeccompLib.SCMP_ACT_KILL_THREAD;
            case EPERM -> SeccompLib.SCMP_ACT_ERRNO | ERRNO_EPERM;
            case ENOSYS -> SeccompLib.SCMP_ACT_ERRNO | ERRNO_ENOSYS;
        };
    }
}
