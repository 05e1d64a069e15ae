package dev.jvmm.kvm.seccomp;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * libseccomp 2 (Debian's libseccomp2), bound with JNA direct mapping: the library compiles the deny list into
 * BPF for this architecture and loads it with seccomp(2). Functions return 0 or a negative errno, as
 * libseccomp documents them; {@link #seccomp_init} returns null on failure.
 */
final class SeccompLib {
    /** The runtime library's file name; dlopen finds it through the linker's cache, no -dev package needed. */
    static final String LIBRARY = "libseccomp.so.2";

    /** enum scmp_filter_attr: SCMP_FLTATR_CTL_TSYNC, sync every thread of the process to the filter. */
    static final int SCMP_FLTATR_CTL_TSYNC = 4;
    /** enum scmp_filter_attr: SCMP_FLTATR_API_SYSRAWRC, return the kernel's errno instead of a generic one. */
    static final int SCMP_FLTATR_API_SYSRAWRC = 9;

    /** enum scmp_compare: SCMP_CMP_NE. */
    static final int SCMP_CMP_NE = 1;
    /** enum scmp_compare: SCMP_CMP_MASKED_EQ, (arg & datum_a) == datum_b. */
    static final int SCMP_CMP_MASKED_EQ = 7;

    static final int SCMP_ACT_KILL_PROCESS = 0x80000000;
    static final int SCMP_ACT_KILL_THREAD = 0x00000000;
    static final int SCMP_ACT_TRAP = 0x00030000;
    static final int SCMP_ACT_ERRNO = 0x00050000;
    static final int SCMP_ACT_ALLOW = 0x7fff0000;

    /** __NR_SCMP_ERROR: seccomp_syscall_resolve_name knows no syscall of that name on any architecture. */
    static final int NR_SCMP_ERROR = -1;

    /** sizeof(struct scmp_arg_cmp): unsigned int arg, enum op, then two 64-bit data. */
    static final int ARG_CMP_SIZE = 24;

    static {
        Native.register(SeccompLib.class, LIBRARY);
    }

    private SeccompLib() {
    }

    static native Pointer seccomp_init(int defAction);

    static native int seccomp_attr_set(Pointer ctx, int attr, int value);

    static native int seccomp_syscall_resolve_name(String name);

    static native int seccomp_rule_add_array(Pointer ctx, int action, int syscall, int argCount, Pointer args);

    static native int seccomp_load(Pointer ctx);

    static native void seccomp_release(Pointer ctx);

    /** The libc calls the sandbox needs around libseccomp: prctl(2), seccomp(2) for a query, strerror. */
    static final class Libc {
        static final int PR_SET_NO_NEW_PRIVS = 38;
        /** x86-64 syscall number of seccomp(2). */
        static final long SYS_SECCOMP = 317;
        /** seccomp(2) operation: is the action in *args available? */
        static final long SECCOMP_GET_ACTION_AVAIL = 2;
        /** The kernel's SECCOMP_RET_KILL_PROCESS (Linux 4.14). */
        static final int SECCOMP_RET_KILL_PROCESS = 0x80000000;

        static {
            Native.register(Libc.class, "c");
        }

        private Libc() {
        }

        static native int prctl(int option, long arg2, long arg3, long arg4, long arg5);

        static native long syscall(long number, long arg1, long arg2, Pointer arg3);

        static native String strerror(int errno);
    }
}
