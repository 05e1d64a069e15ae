package dev.jvmm.kvm;

/** struct kvm_segment: a segment register with its hidden descriptor cache. */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
                      boolean s, boolean l, boolean g, boolean avl, boolean unusable) {
    /** A flat 4 GiB segment: type 0xb (code, execute/read, accessed) or 0x3 (data, read/write, accessed). */
    public static Segment flat32(int selector, boolean code) {
        return new Segment(0, 0xffffffff, selector, code ? 0xb : 0x3, true, 0, true, true, false, true, false, false);
    }

    /** A real-mode segment: base = selector * 16, 64 KiB limit, as after a far jump in real mode. */
    public static Segment real(int selector, boolean code) {
        return new Segment((selector & 0xffffL) << 4, 0xffff, selector & 0xffff, code ? 0xb : 0x3, true, 0, false,
                true, false, false, false, false);
    }

    /** The descriptor flags word as QEMU prints it (bits 8-23 of the descriptor's high dword). */
    public int descriptorFlags() {
        return (type << 8) | (s ? 1 << 12 : 0) | (dpl << 13) | (present ? 1 << 15 : 0) | (avl ? 1 << 20 : 0)
                | (l ? 1 << 21 : 0) | (db ? 1 << 22 : 0) | (g ? 1 << 23 : 0);
    }
}
