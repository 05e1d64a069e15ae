package dev.jvmm.core.block;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The libc calls image files need and FileChannel lacks: OFD byte-range locks, fallocate, ftruncate, fstat. They
 * work on a descriptor of our own for the same file: OFD locks belong to that open file description, and
 * fallocate/ftruncate act on the inode whichever descriptor is used.
 */
final class FileOps {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final int O_DIRECT = 0x4000;

    /** fcntl.h (Linux x86-64): open file description locks. */
    static final int F_OFD_GETLK = 36;
    static final int F_OFD_SETLK = 37;
    static final short F_RDLCK = 0;
    static final short F_WRLCK = 1;
    static final short F_UNLCK = 2;
    static final short SEEK_SET = 0;
    /** struct flock on x86-64: l_type@0 (short), l_whence@2, l_start@8, l_len@16, l_pid@24; 32 bytes. */
    static final int FLOCK_SIZE = 32;

    /** linux/falloc.h. */
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    /** struct stat on x86-64: st_blocks (512-byte units) at byte 64 of 144. */
    static final int STAT_SIZE = 144;
    static final int STAT_BLOCKS_OFFSET = 64;

    static {
        Native.register(FileOps.class, "c");
    }

    private FileOps() {
    }

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long pread(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    static native long pwrite(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    static native int fcntl(int fd, int cmd, Pointer arg) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

    static native int ftruncate(int fd, long length) throws LastErrorException;

    static native int fstat(int fd, Pointer buf) throws LastErrorException;

    static final int SEEK_END = 2;

    static native long lseek(int fd, long offset, int whence) throws LastErrorException;

    /** Sets (F_RDLCK) or clears (F_UNLCK) an OFD lock on one byte; false when another description conflicts. */
    static boolean lockByte(int fd, long offset, short type) {
        Memory fl = flock(type, offset);
        try {
            fcntl(fd, F_OFD_SETLK, fl);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == 11 /* EAGAIN */ || e.getErrorCode() == 13 /* EACCES */) {
                return false;
            }
            throw e;
        }
    }

    /** True when another open file description holds a lock on the byte (probing with a write lock, as QEMU does). */
    static boolean byteLockedByOther(int fd, long offset) {
        Memory fl = flock(F_WRLCK, offset);
        fcntl(fd, F_OFD_GETLK, fl);
        return fl.getShort(0) != F_UNLCK;
    }

    private static Memory flock(short type, long offset) {
        Memory fl = new Memory(FLOCK_SIZE);
        fl.clear();
        fl.setShort(0, type);
        fl.setShort(2, SEEK_SET);
        fl.setLong(8, offset);
        fl.setLong(16, 1);
        return fl;
    }

    static long allocatedBytes(int fd) {
        Memory st = new Memory(STAT_SIZE);
        fstat(fd, st);
        return st.getLong(STAT_BLOCKS_OFFSET) * 512;
    }
}
