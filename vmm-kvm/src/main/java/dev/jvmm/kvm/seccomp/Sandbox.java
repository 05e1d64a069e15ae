package dev.jvmm.kvm.seccomp;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A seccomp filter for the whole jvmm process, as QEMU 7.2's -sandbox installs it: everything is allowed but the
 * {@link DenyList} rules of the chosen groups, and the filter is loaded with thread synchronisation (TSYNC), so
 * the JVM's existing threads get it at once and every thread created later inherits it.
 *
 * <p>What the JVM needs afterwards stays allowed: threads (clone with the pthread flags; clone3 answers ENOSYS
 * and glibc falls back to clone), mmap/mprotect for the JIT and GC, epoll for Netty, file and socket I/O. What
 * spawn=deny takes away is process creation, so nothing in jvmm may start a process once the filter is in.
 *
 * @param groups            the groups to deny
 * @param noNewPrivsFirst   elevateprivileges=children: set no_new_privs before building the filter, as QEMU does
 */
public record Sandbox(Set<DenyGroup> groups, boolean noNewPrivsFirst) {
    public Sandbox {
        groups = Set.copyOf(groups);
    }

    /** A sandbox failed to install; the message is QEMU's text, with the reason after a colon. */
    public static final class SandboxException extends Exception {
        public SandboxException(String message) {
            super(message);
        }
    }

    /** -sandbox on alone: the default and obsolete groups. */
    public static Sandbox defaults() {
        return new Sandbox(EnumSet.of(DenyGroup.DEFAULT, DenyGroup.OBSOLETE), false);
    }

    /** The rules this sandbox installs, in order. */
    public List<DenyList.Rule> rules() {
        return DenyList.of(groups);
    }

    /** Builds the filter with libseccomp and loads it for every thread of this process. */
    public void install() throws SandboxException {
        if (noNewPrivsFirst && SeccompLib.Libc.prctl(SeccompLib.Libc.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            throw new SandboxException("failed to set no_new_privs aborting");
        }
        Pointer ctx;
        try {
            ctx = SeccompLib.seccomp_init(SeccompLib.SCMP_ACT_ALLOW);
        } catch (LinkageError e) {
            throw new SandboxException("failed to initialize seccomp context: " + SeccompLib.LIBRARY
                    + " cannot be loaded (install libseccomp2)");
        }
        if (ctx == null) {
            throw new SandboxException("failed to initialize seccomp context");
        }
        try {
            // First, so that the calls after it report the kernel's own errno.
            check(SeccompLib.seccomp_attr_set(ctx, SeccompLib.SCMP_FLTATR_API_SYSRAWRC, 1),
                    "failed to set seccomp rawrc attribute");
            check(SeccompLib.seccomp_attr_set(ctx, SeccompLib.SCMP_FLTATR_CTL_TSYNC, 1),
                    "failed to set seccomp thread synchronization");
            boolean killProcess = killProcessAvailable();
            for (DenyList.Rule rule : rules()) {
                int nr = SeccompLib.seccomp_syscall_resolve_name(rule.syscall());
                if (nr == SeccompLib.NR_SCMP_ERROR) {
                    throw new SandboxException("failed to add seccomp denylist rules: unknown syscall "
                            + rule.syscall());
                }
                check(SeccompLib.seccomp_rule_add_array(ctx, DenyList.actionValue(rule.action(), killProcess), nr,
                        rule.args().size(), argArray(rule.args())), "failed to add seccomp denylist rules");
            }
            check(SeccompLib.seccomp_load(ctx), "failed to load seccomp syscall filter in kernel");
        } finally {
            SeccompLib.seccomp_release(ctx);
        }
    }

    private static void check(int rc, String what) throws SandboxException {
        if (rc < 0) {
            throw new SandboxException(what + ": " + SeccompLib.Libc.strerror(-rc));
        }
    }

    /** struct scmp_arg_cmp[]: libseccomp copies it, so the memory only has to outlive the call. */
    private static Pointer argArray(List<DenyList.ArgMatch> args) {
        if (args.isEmpty()) {
            return null;
        }
        Memory m = new Memory((long) SeccompLib.ARG_CMP_SIZE * args.size());
        for (int i = 0; i < args.size(); i++) {
            DenyList.ArgMatch a = args.get(i);
            long base = (long) i * SeccompLib.ARG_CMP_SIZE;
            m.setInt(base, a.arg());
            m.setInt(base + 4, a.op());
            m.setLong(base + 8, a.datumA());
            m.setLong(base + 16, a.datumB());
        }
        return m;
    }

    /** Whether the kernel can kill the whole process (SECCOMP_RET_KILL_PROCESS); older ones only raise SIGSYS. */
    private static boolean killProcessAvailable() {
        Memory action = new Memory(4);
        action.setInt(0, SeccompLib.Libc.SECCOMP_RET_KILL_PROCESS);
        long rc = SeccompLib.Libc.syscall(SeccompLib.Libc.SYS_SECCOMP, SeccompLib.Libc.SECCOMP_GET_ACTION_AVAIL, 0,
                action);
        return rc == 0;
    }
}
