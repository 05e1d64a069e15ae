package dev.jvmm.libvirt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** virsh against one libvirtd URI; every run is bounded. */
public final class Virsh {
    static final long DEFAULT_SECONDS = 60;

    private final String uri;

    public Virsh(String uri) {
        this.uri = uri;
    }

    /** What one virsh run printed and returned; rc -1 when it was killed for running too long. */
    public record Result(int rc, String out, String err) {
        /** The output, failing with both streams when virsh did not succeed. */
        public String ok() {
            if (rc != 0) {
                throw new AssertionError("virsh exited " + rc + ": " + err.strip() + " / " + out.strip());
            }
            return out;
        }
    }

    static Path program() {
        return PrivateLibvirtd.onPath("virsh");
    }

    List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(program().toString(), "-q", "-c", uri));
        cmd.addAll(List.of(args));
        return cmd;
    }

    public Result run(String... args) {
        return run(DEFAULT_SECONDS, args);
    }

    /** Runs virsh with the arguments; kills it after {@code seconds}. */
    public Result run(long seconds, String... args) {
        try {
            Process p = new ProcessBuilder(command(args)).redirectInput(ProcessBuilder.Redirect.from(
                    new java.io.File("/dev/null"))).start();
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                return new Result(-1, get(out), "virsh " + String.join(" ", args) + " ran past " + seconds
                        + " s; " + get(err));
            }
            return new Result(p.exitValue(), get(out), get(err));
        } catch (IOException e) {
            return new Result(-1, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        }
    }

    /** Starts virsh without waiting (for {@code event --loop}); the caller ends it. */
    public Process spawn(String... args) throws IOException {
        return new ProcessBuilder(command(args)).redirectErrorStream(true).start();
    }

    static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    static String get(CompletableFuture<String> f) {
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
