package dev.jvmm.qmp;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.loop.IoLoop;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Printed figures, no timed assertions: query-status round trip, events per second delivered, and start to
 * greeting, for jvmm's server (fake machine) and QEMU when present. scripts/bench.sh runs it (tag "benchmark").
 */
@Tag("benchmark")
class QmpBenchmarkTest {
    @TempDir
    Path dir;

    static double rttMicros(QmpClient c, int n) throws Exception {
        for (int i = 0; i < 200; i++) {
            c.command("{\"execute\":\"query-status\"}");
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            c.command("{\"execute\":\"query-status\"}");
        }
        return (System.nanoTime() - t0) / 1000.0 / n;
    }

    /** Events per second from stop/cont pairs (two events per pair), which both QEMU and jvmm can do. */
    static double stopContEventsPerSecond(QmpClient c, int pairs) throws Exception {
        long t0 = System.nanoTime();
        int events = 0;
        for (int i = 0; i < pairs; i++) {
            events += c.exchange("{\"execute\":\"stop\"}").size() - 1;
            events += c.exchange("{\"execute\":\"cont\"}").size() - 1;
        }
        return events / ((System.nanoTime() - t0) / 1e9);
    }

    @Test
    void benchmark() throws Exception {
        try (IoLoop loop = new IoLoop()) {
            FakeMachine m = new FakeMachine();
            long t0 = System.nanoTime();
            QmpServer server = new QmpServer(m, loop);
            Path sock = dir.resolve("jvmm.sock");
            server.listenUnix(sock, false);
            try (QmpClient c = new QmpClient(sock)) {
                c.readLine(5000);
                System.out.printf("jvmm: server start to greeting %.2f ms (in-process, not a full launch)%n",
                        (System.nanoTime() - t0) / 1e6);
                c.send("{\"execute\":\"qmp_capabilities\"}");
                c.readLine(5000);
                System.out.printf("jvmm: query-status round trip %.1f us%n", rttMicros(c, 5000));
                System.out.printf("jvmm: stop/cont events %.0f/s%n", stopContEventsPerSecond(c, 2000));
                int n = 200_000;
                long e0 = System.nanoTime();
                Thread pub = new Thread(() -> {
                    for (int i = 0; i < n; i++) {
                        m.events().publish(new VmEvent.Powerdown());
                    }
                });
                pub.start();
                int got = 0;
                Map<String, Object> msg;
                while (got < n && (msg = c.read(5000)) != null) {
                    if (msg.containsKey("event")) {
                        got++;
                    }
                }
                System.out.printf("jvmm: bus events delivered %d in %.0f ms = %.0f/s%n", got,
                        (System.nanoTime() - e0) / 1e6, got / ((System.nanoTime() - e0) / 1e9));
            }
            server.close();
            m.lifecycle().close();
        }
        if (QemuSideBySideTest.qemuAvailable()) {
            Path qsock = dir.resolve("qemu.sock");
            long t0 = System.nanoTime();
            Process q = QemuSideBySideTest.startProcess(QemuSideBySideTest.qemuCommand(qsock,
                    QemuSideBySideTest.haltBios(dir)), qsock);
            try (QmpClient c = new QmpClient(qsock)) {
                c.readLine(5000);
                System.out.printf("qemu: launch to greeting %.1f ms%n", (System.nanoTime() - t0) / 1e6);
                c.send("{\"execute\":\"qmp_capabilities\"}");
                c.readLine(5000);
                System.out.printf("qemu: query-status round trip %.1f us%n", rttMicros(c, 5000));
                System.out.printf("qemu: stop/cont events %.0f/s%n", stopContEventsPerSecond(c, 2000));
            } finally {
                q.destroy();
                q.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
