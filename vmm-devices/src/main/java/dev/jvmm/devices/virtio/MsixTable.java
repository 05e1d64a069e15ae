package dev.jvmm.devices.virtio;

import dev.jvmm.core.irq.MsiRouter;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * PCI Local Bus Specification 3.0, section 6.8.2: an MSI-X table and pending bit array, with per-vector
 * and function masks. A message for a masked vector sets its pending bit and is sent when the vector is
 * unmasked (QEMU's msix_notify / msix_handle_mask_update). Delivery goes through {@link MsiRouter} routes
 * that follow each entry's address and data. Not thread-safe: the owner serialises every call.
 */
final class MsixTable {
    /** Section 6.8.2.6: table entry layout, 16 bytes. */
    static final int ENTRY_SIZE = 16;
    static final int MSG_ADDR_LO = 0x0;
    static final int MSG_ADDR_HI = 0x4;
    static final int MSG_DATA = 0x8;
    static final int VECTOR_CTRL = 0xc;
    /** Section 6.8.2.9: Vector Control bit 0, Mask Bit. */
    static final int VECTOR_CTRL_MASKBIT = 0x1;
    /** Section 6.8.2.3: Message Control bits. */
    static final int MSIX_ENABLE = 0x8000;
    static final int MSIX_FUNCTION_MASK = 0x4000;

    private final int vectors;
    private final int[] table;
    private final long[] pending;
    private final MsiRouter.MsiVector[] routes;
    private boolean enabled;
    private boolean functionMasked;

    MsixTable(int vectors, MsiRouter router) {
        this.vectors = vectors;
        this.table = new int[vectors * 4];
        this.pending = new long[(vectors + 63) / 64];
        this.routes = new MsiRouter.MsiVector[vectors];
        for (int i = 0; i < vectors; i++) {
            routes[i] = router.allocate();
        }
        reset();
    }

    int vectors() {
        return vectors;
    }

    /** Bytes the table takes (PBA placed after it by the owner). */
    int tableSize() {
        return vectors * ENTRY_SIZE;
    }

    int pbaSize() {
        return pending.length * 8;
    }

    /** Power-on state: every vector masked, address and data zero, nothing pending, MSI-X disabled. */
    void reset() {
        Arrays.fill(table, 0);
        for (int v = 0; v < vectors; v++) {
            table[v * 4 + 3] = VECTOR_CTRL_MASKBIT;
            routes[v].update(0, 0);
        }
        Arrays.fill(pending, 0);
        enabled = false;
        functionMasked = false;
    }

    /** Virtio reset: QEMU's msix_unuse_all_vectors drops pending messages. */
    void clearPending() {
        Arrays.fill(pending, 0);
    }

    boolean enabled() {
        return enabled;
    }

    /** The Message Control register changed (enable and function mask bits); sends what became unmasked. */
    void setControl(int messageControl) {
        enabled = (messageControl & MSIX_ENABLE) != 0;
        functionMasked = (messageControl & MSIX_FUNCTION_MASK) != 0;
        for (int v = 0; v < vectors; v++) {
            deliverIfUnmasked(v);
        }
    }

    boolean masked(int vector) {
        return !enabled || functionMasked || (table[vector * 4 + 3] & VECTOR_CTRL_MASKBIT) != 0;
    }

    boolean isPending(int vector) {
        return (pending[vector >>> 6] & (1L << vector)) != 0;
    }

    /** Sends vector's message now, or marks it pending while masked; out-of-range vectors are ignored. */
    void notify(int vector) {
        if (vector < 0 || vector >= vectors) {
            return;
        }
        if (masked(vector)) {
            pending[vector >>> 6] |= 1L << vector;
            return;
        }
        routes[vector].trigger();
    }

    private void deliverIfUnmasked(int v) {
        if (isPending(v) && !masked(v)) {
            pending[v >>> 6] &= ~(1L << v);
            routes[v].trigger();
        }
    }

    /** A read of size bytes at offset into the table (outside it: 0). */
    long readTable(long offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            long o = offset + i;
            if (o >= 0 && o < tableSize()) {
                int word = table[(int) (o >>> 2)];
                v |= (long) ((word >>> (8 * (o & 3))) & 0xff) << (8 * i);
            }
        }
        return v;
    }

    /** A write into the table: routes follow address/data changes; unmasking sends a pending message. */
    void writeTable(long offset, int size, long value) {
        if (offset < 0 || offset + size > tableSize()) {
            return;
        }
        int first = (int) (offset / ENTRY_SIZE);
        int last = (int) ((offset + size - 1) / ENTRY_SIZE);
        for (int i = 0; i < size; i++) {
            long o = offset + i;
            int w = (int) (o >>> 2);
            int shift = (int) (8 * (o & 3));
            table[w] = (table[w] & ~(0xff << shift)) | (int) (((value >>> (8 * i)) & 0xff) << shift);
        }
        for (int v = first; v <= last; v++) {
            int base = v * 4;
            long addr = (table[base] & 0xffff_ffffL) | (table[base + 1] & 0xffff_ffffL) << 32;
            routes[v].update(addr, table[base + 2]);
            deliverIfUnmasked(v);
        }
    }

    /** A read of the pending bit array; writes to it are ignored (section 6.8.2.10). */
    long readPba(long offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            long o = offset + i;
            if (o >= 0 && o < pbaSize()) {
                v |= ((pending[(int) (o >>> 3)] >>> (8 * (o & 7))) & 0xff) << (8 * i);
            }
        }
        return v;
    }

    /** Table, pending bits, enable and function mask. */
    void saveState(StateWriter w) {
        ByteBuffer t = ByteBuffer.allocate(table.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        t.asIntBuffer().put(table);
        ByteBuffer p = ByteBuffer.allocate(pending.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        p.asLongBuffer().put(pending);
        w.begin("msix").u32("vectors", vectors).bytes("table", t.array()).bytes("pba", p.array())
                .bool("enabled", enabled).bool("function-masked", functionMasked).end();
    }

    /** Restores the table and points every route at its entry again; nothing is sent. */
    void loadState(StateReader r) throws StateException {
        r.begin("msix", 1);
        r.expectU32("vectors", vectors);
        byte[] t = new byte[table.length * 4];
        r.bytes("table", t);
        byte[] p = new byte[pending.length * 8];
        r.bytes("pba", p);
        boolean en = r.bool("enabled");
        boolean fm = r.bool("function-masked");
        r.end();
        long[] pba = new long[pending.length];
        ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(pba);
        if (vectors % 64 != 0 && pba.length > 0 && pba[pba.length - 1] >>> (vectors % 64) != 0) {
            throw r.invalid("pba", "pending bits beyond the " + vectors + " vectors");
        }
        ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(table);
        System.arraycopy(pba, 0, pending, 0, pba.length);
        enabled = en;
        functionMasked = fm;
        for (int v = 0; v < vectors; v++) {
            int base = v * 4;
            routes[v].update((table[base] & 0xffff_ffffL) | (table[base + 1] & 0xffff_ffffL) << 32, table[base + 2]);
        }
    }

    void close() {
        for (MsiRouter.MsiVector r : routes) {
            r.close();
        }
    }
}
