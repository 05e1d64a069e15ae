package dev.jvmm.core.memory;

/** One contiguous range of guest-physical RAM. */
public record RamRange(long guestAddress, long size) {
    public RamRange {
        if (guestAddress < 0 || size <= 0) {
            throw new IllegalArgumentException("bad RAM range " + guestAddress + "+" + size);
        }
    }

    public long end() {
        return guestAddress + size;
    }

    public boolean contains(long gpa, long length) {
        return gpa >= guestAddress && length >= 0 && gpa + length <= end() && gpa + length >= gpa;
    }
}
