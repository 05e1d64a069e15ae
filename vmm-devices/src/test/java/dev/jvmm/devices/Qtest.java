package dev.jvmm.devices;

import dev.jvmm.core.io.PioBus;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU 7.2 {@code pc} machine driven through its qtest protocol on stdin/stdout, for side-by-side tests:
 * one command per line, answered by "OK [value]", "FAIL ..." or "ERR ..."; "IRQ raise|lower n" lines
 * (after {@code irq_intercept_in}) arrive before the answer and are kept in order.
 */
public final class Qtest implements AutoCloseable {
    public static final String QEMU = "qemu-system-x86_64";
    /** Commands written before their answers are read: small enough not to fill either pipe. */
    private static final int BATCH = 256;

    private final Process process;
    private final Writer in;
    private final BufferedReader out;
    private final List<String> irqEvents = new ArrayList<>();

    private Qtest(Process process) {
        this.process = process;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
    }

    /** Whether {@value #QEMU} is an executable on PATH. */
    public static boolean available() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(dir, QEMU).canExecute()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Starts {@code qemu-system-x86_64 -machine pc -accel tcg -qtest stdio -nodefaults -display none
     * -monitor none} plus the given arguments (e.g. "-S", "-m", "128"); stderr is discarded.
     */
    public static Qtest start(String... extraQemuArgs) throws IOException {
        List<String> argv = new ArrayList<>(List.of(QEMU, "-machine", "pc", "-accel", "tcg", "-qtest", "stdio",
                "-nodefaults", "-display", "none", "-monitor", "none"));
        argv.addAll(List.of(extraQemuArgs));
        return new Qtest(new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start());
    }

    /** Sends one command and returns what follows "OK" (trimmed, "" if nothing); throws on FAIL, ERR or EOF. */
    public String command(String cmd) throws IOException {
        in.write(cmd + "\n");
        in.flush();
        return answer(cmd);
    }

    /** Sends the commands in batches without waiting for each answer; returns the answers in order. */
    public List<String> commands(List<String> cmds) throws IOException {
        List<String> answers = new ArrayList<>(cmds.size());
        for (int done = 0; done < cmds.size(); ) {
            List<String> batch = cmds.subList(done, Math.min(cmds.size(), done + BATCH));
            for (String cmd : batch) {
                in.write(cmd + "\n");
            }
            in.flush();
            for (String cmd : batch) {
                answers.add(answer(cmd));
            }
            done += batch.size();
        }
        return answers;
    }

    /** IRQ lines seen since the last call, in order; they are forgotten here. */
    public List<String> takeIrqEvents() {
        List<String> taken = new ArrayList<>(irqEvents);
        irqEvents.clear();
        return taken;
    }

    /**
     * Runs a port script ("inb 0x3f8", "outw 0x602 0x21", "sleep 250" in host milliseconds) and returns
     * every value read as "inb 0x3f8 = 0x1" together with the IRQ lines, in the order they happened.
     */
    public List<String> runPortScript(List<String> script) throws IOException, InterruptedException {
        List<String> events = new ArrayList<>();
        for (String cmd : script) {
            if (cmd.startsWith("sleep ")) {
                Thread.sleep(Long.parseLong(cmd.substring(6)));
                continue;
            }
            String v = command(cmd);
            events.addAll(takeIrqEvents());
            if (cmd.startsWith("in")) {
                events.add(cmd + " = 0x" + Long.toHexString(Long.decode(v)));
            }
        }
        return events;
    }

    /** The same port script on one of our buses, values recorded into events as {@link #runPortScript} does. */
    public static void runPortScript(PioBus bus, List<String> script, List<String> events) {
        for (String cmd : script) {
            String[] f = cmd.split(" ");
            if (f[0].equals("sleep")) {
                try {
                    Thread.sleep(Long.parseLong(f[1]));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                continue;
            }
            int port = Integer.decode(f[1]);
            int size = accessSize(f[0]);
            if (f[0].startsWith("in")) {
                events.add(cmd + " = 0x" + Long.toHexString(bus.read(port, size)));
            } else {
                bus.write(port, size, Long.decode(f[2]));
            }
        }
    }

    /** 1, 2 or 4 for an "inb"/"outw"/"inl"... command word. */
    public static int accessSize(String op) {
        return switch (op.charAt(op.length() - 1)) {
            case 'b' -> 1;
            case 'w' -> 2;
            default -> 4;
        };
    }

    private String answer(String cmd) throws IOException {
        while (true) {
            String line = out.readLine();
            if (line == null || line.startsWith("FAIL") || line.startsWith("ERR")) {
                throw new IllegalStateException("qtest answered " + line + " to " + cmd);
            }
            if (line.startsWith("OK")) {
                return line.substring(2).trim();
            }
            if (line.startsWith("IRQ ")) {
                irqEvents.add(line);
            }
        }
    }

    /** Closes QEMU's stdin (it quits on EOF) and kills it, waiting up to 5 s. */
    @Override
    public void close() throws InterruptedException {
        try {
            in.close();
        } catch (IOException ignored) {
            // QEMU may already be gone; the process is destroyed below either way
        }
        try {
            out.close();
        } catch (IOException ignored) {
            // as above
        }
        process.destroy();
        process.waitFor(5, TimeUnit.SECONDS);
    }
}
