package dev.jvmm.kvm;

import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The VM's vCPUs and their threads ("vcpu-N", one platform thread each). Pausing kicks every vCPU out
 * of KVM_RUN (immediate_exit plus a real-time signal with a native no-op handler) and waits until each
 * is parked outside KVM_RUN. The lock guards only parking; it is never held across KVM_RUN.
 */
public final class VcpuSet implements AutoCloseable {
    /** The running vCPUs: the boot processor first, hot-plugged ones where they were added. */
    private final List<Vcpu> vcpus;
    /** vCPUs taken away by hot-unplug, by index: KVM cannot destroy a vCPU, so a later plug takes it back. */
    private final Map<Integer, Vcpu> unplugged = new HashMap<>();
    private PioBus pio;
    private MmioBus mmio;
    private VcpuExitHandler handler;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private java.util.function.IntFunction<String> threadNames = i -> "vcpu-" + i;
    volatile boolean pauseRequested;
    volatile boolean stopRequested;
    private boolean started;

    /** Names the vCPU threads from their index; set before {@code start}. */
    public void nameThreads(java.util.function.IntFunction<String> names) {
        threadNames = names;
    }

    public VcpuSet(List<Vcpu> vcpus) {
        this.vcpus = new CopyOnWriteArrayList<>(vcpus);
    }

    /** The present vCPUs, a snapshot. */
    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    public Vcpu get(int index) {
        return vcpus.get(index);
    }

    /**
     * Starts one thread per vCPU. With startPaused (-S) the threads park before their first KVM_RUN
     * until {@link #resumeAll()}.
     */
    public void start(PioBus pio, MmioBus mmio, VcpuExitHandler handler, boolean startPaused) {
        lock.lock();
        try {
            if (started) {
                throw new IllegalStateException("vCPUs already started");
            }
            started = true;
            pauseRequested = pauseRequested || startPaused;
            this.pio = pio;
            this.mmio = mmio;
            this.handler = handler;
        } finally {
            lock.unlock();
        }
        for (Vcpu v : vcpus) {
            startThread(v);
        }
    }

    private void startThread(Vcpu v) {
        // The JVM gives the OS thread this name (/proc/PID/task/TID/comm), where libvirt and tools read it.
        Thread t = new Thread(() -> v.runLoop(this, pio, mmio, handler), threadNames.apply(v.index()));
        t.setDaemon(true);
        v.thread = t;
        t.start();
    }

    /** The vCPU a hot-unplug parked at this index, if any; it is taken out of the parked ones. */
    public Vcpu takeUnplugged(int index) {
        lock.lock();
        try {
            return unplugged.remove(index);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Adds a hot-plugged vCPU (reset as an application processor waiting for INIT/SIPI) and, once the set
     * runs, starts its thread, which parks at once while the set is paused.
     */
    public void add(Vcpu v) {
        // a vCPU that ejected itself may still be leaving its loop: its old thread ends first
        join(v.thread);
        boolean run;
        lock.lock();
        try {
            v.removed = false;
            v.exited = false;
            v.parked = false;
            v.selfPause = false;
            vcpus.add(v);
            run = started && !stopRequested;
        } finally {
            lock.unlock();
        }
        if (run) {
            startThread(v);
            // as QEMU's qemu_init_vcpu: the vCPU is plugged once its thread exists (query-cpus-fast's thread-id)
            long end = System.nanoTime() + THREAD_START_WAIT_NS;
            while (v.tid <= 0 && v.thread.isAlive() && System.nanoTime() < end) {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    /** How long a hot-plugged vCPU's thread may take to start before add returns anyway. */
    private static final long THREAD_START_WAIT_NS = 5_000_000_000L;

    /**
     * Takes a vCPU away for hot-unplug: its thread leaves KVM_RUN and ends, and the vCPU is kept (with its fd)
     * for {@link #takeUnplugged}. Called from another vCPU's thread (the guest's eject) or the monitor.
     */
    public void remove(Vcpu v) {
        lock.lock();
        try {
            if (!vcpus.remove(v)) {
                return;
            }
            v.removed = true;
            v.kick();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        Thread t = v.thread;
        join(t);
        lock.lock();
        try {
            if (t != Thread.currentThread()) {
                v.thread = null;
            }
            v.tid = -1;
            unplugged.put(v.index(), v);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private Vcpu current() {
        Thread me = Thread.currentThread();
        for (Vcpu v : vcpus) {
            if (v.thread == me) {
                return v;
            }
        }
        return null;
    }

    /**
     * Stops every vCPU outside KVM_RUN. Returns when all are parked; called from a vCPU thread (a device
     * asking for stop or reset) it does not wait for its own vCPU, which parks when its exit returns.
     */
    public void pauseAll() {
        Vcpu self = current();
        lock.lock();
        try {
            pauseRequested = true;
            for (Vcpu v : vcpus) {
                if (v != self) {
                    v.kick();
                }
            }
            // Counted as parked while waiting, so two vCPUs pausing at once do not wait for each other.
            if (self != null) {
                self.parked = true;
                changed.signalAll();
            }
            while (pauseRequested && !stopRequested && !allParked()) {
                changed.awaitUninterruptibly();
            }
            if (self != null) {
                self.parked = false;
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean allParked() {
        for (Vcpu v : vcpus) {
            if (v.thread != null && !v.parked && !v.exited) {
                return false;
            }
        }
        return true;
    }

    /** Lets every vCPU run again, including those parked by a fatal exit. */
    public void resumeAll() {
        lock.lock();
        try {
            pauseRequested = false;
            for (Vcpu v : vcpus) {
                v.selfPause = false;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isPaused() {
        return pauseRequested;
    }

    /**
     * Runs work with every vCPU out of KVM_RUN, then lets them run again if they were running. vCPU ioctls
     * such as KVM_GET_REGS or KVM_NMI wait for KVM_RUN to return, which a vCPU halted with interrupts off
     * never does by itself.
     */
    public <T> T whilePaused(java.util.function.Supplier<T> work) {
        boolean wasRunning = !isPaused();
        if (wasRunning) {
            pauseAll();
        }
        try {
            return work.get();
        } finally {
            if (wasRunning) {
                resumeAll();
            }
        }
    }

    /** Called by a vCPU thread at its loop top; returns false when the set is stopping. */
    boolean park(Vcpu v) {
        lock.lock();
        try {
            v.parked = true;
            changed.signalAll();
            while ((pauseRequested || v.selfPause) && !stopRequested && !v.removed) {
                changed.awaitUninterruptibly();
            }
            v.parked = false;
        } finally {
            lock.unlock();
        }
        v.run.put(KvmIoctls.RUN_IMMEDIATE_EXIT, (byte) 0);
        java.lang.invoke.VarHandle.fullFence();
        return !stopRequested && !v.removed;
    }

    void exited(Vcpu v) {
        lock.lock();
        try {
            v.exited = true;
            v.pthread = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends every vCPU thread and waits for them (not for the caller's own, if it is one). */
    public void stop() {
        Vcpu self = current();
        lock.lock();
        try {
            stopRequested = true;
            for (Vcpu v : vcpus) {
                if (v != self && !v.exited) {
                    v.kick();
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Vcpu v : vcpus) {
            if (v != self) {
                join(v.thread);
            }
        }
    }

    private static void join(Thread t) {
        if (t == null || t == Thread.currentThread()) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
        for (Vcpu v : vcpus) {
            v.close();
        }
        lock.lock();
        try {
            unplugged.values().forEach(Vcpu::close);
            unplugged.clear();
        } finally {
            lock.unlock();
        }
    }
}
