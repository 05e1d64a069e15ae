package dev.jvmm.cli;

import dev.jvmm.core.loop.IoLoop;
import dev.jvmm.qmp.QmpServer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The part of QMP's start-up that needs no machine, on a second thread while main parses the options and
 * builds the machine: the I/O loop (Netty's epoll transport, its native library and its thread) and the JSON
 * codec. The machine takes the loop when it first needs it, waiting for it then if it is not ready yet.
 */
final class QmpWarmup implements Supplier<IoLoop> {
    private final CompletableFuture<IoLoop> loop = new CompletableFuture<>();

    private QmpWarmup() {
    }

    static QmpWarmup begin() {
        QmpWarmup w = new QmpWarmup();
        Thread t = new Thread(w::run, "jvmm-warmup");
        t.setDaemon(true);
        t.start();
        return w;
    }

    private void run() {
        try {
            IoLoop l = new IoLoop();
            QmpServer.warmUp();
            loop.complete(l);
        } catch (RuntimeException | Error e) {
            loop.completeExceptionally(e);
        }
    }

    /** The loop, once made; what making it threw, as the machine would have met it making the loop itself. */
    @Override
    public IoLoop get() {
        try {
            return loop.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }
}
