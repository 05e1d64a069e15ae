package dev.jvmm.core.loop;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's main loop: one thread runs every task, in order. The thread that launched the machine becomes that
 * thread by calling {@link #runHere} once it has nothing else to do, so a VM spends no thread on a launcher
 * that would only wait; before that call (and where nobody makes it, as in tests) the first task starts a
 * thread of the loop's own. A task that throws is reported and the loop goes on, as an executor's fresh
 * worker would.
 */
public final class MainLoop extends AbstractExecutorService {
    private final String name;
    private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private volatile boolean shutdown;
    /** The thread running the loop; null until a task or {@link #runHere} needs one. */
    private Thread runner;
    /** A thread said it will run the loop ({@link #reserve}): tasks wait for it instead of starting one. */
    private boolean reserved;
    private final Object terminated = new Object();
    private boolean done;

    public MainLoop(String name) {
        this.name = name;
    }

    @Override
    public void execute(Runnable task) {
        if (shutdown) {
            throw new RejectedExecutionException(name + " is shut down");
        }
        tasks.add(task);
        synchronized (this) {
            if (runner == null && !reserved) {
                runner = new Thread(this::loop, name);
                runner.setDaemon(true);
                runner.start();
            }
        }
    }

    /**
     * Says that the calling thread will run the loop once it has finished setting the machine up: tasks queued
     * until its {@link #runHere} wait for it (in order) rather than start a thread. The caller must not wait
     * for a task of this loop before that call.
     */
    public synchronized void reserve() {
        if (runner == null) {
            reserved = true;
        }
    }

    /**
     * Runs the loop on the calling thread, which takes the loop's name, until the loop is shut down; returns
     * at once when a thread of the loop's own already runs it.
     */
    public void runHere() {
        synchronized (this) {
            if (runner != null) {
                return;
            }
            runner = Thread.currentThread();
        }
        runner.setName(name);
        loop();
    }

    private void loop() {
        try {
            while (!(shutdown && tasks.isEmpty())) {
                Runnable task;
                try {
                    task = tasks.take();
                } catch (InterruptedException e) {
                    continue; // shutdownNow interrupts, having emptied the queue: the loop ends
                }
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    Thread t = Thread.currentThread();
                    t.getUncaughtExceptionHandler().uncaughtException(t, e);
                }
            }
        } finally {
            synchronized (terminated) {
                done = true;
                terminated.notifyAll();
            }
        }
    }

    /** Stops taking tasks; those queued still run, then the loop ends. */
    @Override
    public void shutdown() {
        shutdown = true;
        tasks.add(() -> { }); // wakes the loop to see the flag
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        List<Runnable> left = new java.util.ArrayList<>();
        tasks.drainTo(left);
        boolean running;
        synchronized (this) {
            running = runner != null;
            if (running) {
                runner.interrupt();
            }
        }
        if (!running) {
            synchronized (terminated) {
                done = true;
                terminated.notifyAll();
            }
        }
        return left;
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        synchronized (terminated) {
            return done;
        }
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long end = System.nanoTime() + unit.toNanos(timeout);
        synchronized (terminated) {
            while (!done) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(terminated, left);
            }
            return true;
        }
    }
}
