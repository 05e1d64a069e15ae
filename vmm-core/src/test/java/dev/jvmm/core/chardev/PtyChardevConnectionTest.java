package dev.jvmm.core.chardev;

import org.junit.jupiter.api.Test;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The pty backend tells its frontend when a process opens the slave and when the last one closes it. */
class PtyChardevConnectionTest {
    @Test
    void openingAndClosingTheSlaveAreConnectionEvents() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/ptmx")), "no /dev/ptmx on this host");
        PtyChardev c;
        try {
            c = new PtyChardev("p0");
        } catch (IOException e) {
            assumeTrue(false, "cannot open a pty here: " + e.getMessage());
            return;
        }
        List<Boolean> seen = new CopyOnWriteArrayList<>();
        c.setConnectionListener(seen::add);
        try {
            try (FileOutputStream slave = new FileOutputStream(c.slavePath())) {
                waitFor(() -> seen.contains(true));
            }
            waitFor(() -> seen.size() >= 2);
            assertEquals(List.of(true, false), seen);
        } finally {
            c.close();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (!cond.getAsBoolean() && System.currentTimeMillis() < end) {
            Thread.sleep(10);
        }
    }
}
