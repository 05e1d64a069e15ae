package dev.jvmm.devices.net;

import dev.jvmm.core.clock.VirtualClock;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

/** How {@link E1000}'s state is written: register arrays as little-endian bytes, timers as guest time left. */
final class E1000State {
    private E1000State() {
    }

    static void saveTimer(StateWriter w, String name, VirtualClock clock, VirtualClock.Timer t) {
        long deadline = t.deadline();
        w.bool(name + "-running", deadline >= 0);
        w.u64(name + "-remaining-ns", deadline >= 0 ? Math.max(0, deadline - clock.nanos()) : 0);
    }

    static long loadTimer(StateReader r, String name, long max) throws StateException {
        boolean running = r.bool(name + "-running");
        long left = r.u64(name + "-remaining-ns", 0, running ? max : 0);
        return running ? left : -1;
    }

    static void restoreTimer(VirtualClock.Timer t, long left) {
        if (left >= 0) {
            t.modIn(left);
        } else {
            t.cancel();
        }
    }

    /** Little-endian bytes of the low width bytes of each value. */
    static byte[] words(int[] v, int width) {
        byte[] out = new byte[v.length * width];
        for (int i = 0; i < v.length; i++) {
            for (int b = 0; b < width; b++) {
                out[i * width + b] = (byte) (v[i] >>> (8 * b));
            }
        }
        return out;
    }

    static int[] unwords(StateReader r, String name, int count, int width) throws StateException {
        byte[] in = r.bytes(name);
        if (in.length != count * width) {
            throw r.invalid(name, in.length + " bytes, expected " + count * width);
        }
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            for (int b = 0; b < width; b++) {
                out[i] |= (in[i * width + b] & 0xff) << (8 * b);
            }
        }
        return out;
    }
}
