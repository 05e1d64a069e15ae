package dev.jvmm.qmp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -object as libvirt uses it beyond its default domain: guest RAM from a memfd backend, an iothread, a secret
 * encrypted under the master key (AES-256-CBC, as libvirt encrypts disk and chardev passwords), with
 * -name debug-threads=on,process=; jvmm and QEMU 7.2 answer the same qom-get questions, and /proc shows the
 * memfd mapping, the iothread's thread name and the process name.
 */
class UserObjectsSideBySideTest {
    private static final byte[] KEY = new byte[32];
    private static final byte[] IV = new byte[16];

    static {
        for (int i = 0; i < 32; i++) {
            KEY[i] = (byte) (i * 7 + 1);
        }
        for (int i = 0; i < 16; i++) {
            IV[i] = (byte) (0xa0 + i);
        }
    }

    private static Path kernel() {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm missing: test skipped");
        Path k = Path.of(System.getProperty("jvmm.guest.dir", "target/guest"), "tiny.pvh");
        Assumptions.assumeTrue(Files.isRegularFile(k), "guest not built");
        return k;
    }

    private static String encrypted(String secret) throws Exception {
        Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY, "AES"), new IvParameterSpec(IV));
        return Base64.getEncoder().encodeToString(c.doFinal(secret.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<String> args(Path dir, Path kernel, Path sock) throws Exception {
        Path key = dir.resolve("master-key.aes");
        Files.write(key, KEY);
        return List.of("-nodefaults", "-display", "none", "-S", "-m", "128", "-kernel", kernel.toString(),
                "-name", "guest=g1,debug-threads=on,process=objtest",
                "-object", "{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\"" + key + "\"}",
                "-object", "{\"qom-type\":\"secret\",\"id\":\"pw0\",\"data\":\"" + encrypted("s3cret password")
                        + "\",\"keyid\":\"masterKey0\",\"iv\":\"" + Base64.getEncoder().encodeToString(IV)
                        + "\",\"format\":\"base64\"}",
                "-object", "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"pc.ram\",\"size\":134217728}",
                "-machine", "pc,memory-backend=pc.ram",
                "-object", "iothread,id=iothread1,poll-max-ns=100",
                "-qmp", "unix:" + sock + ",server=on,wait=off");
    }

    /** The answers compared, and what /proc shows of the process. */
    private static Map<String, Object> run(String program, Path dir) throws Exception {
        Path sock = dir.resolve(Path.of(program).getFileName() + ".sock");
        List<String> cmd = new ArrayList<>(List.of(program));
        cmd.addAll(List.of("-accel", "kvm"));
        cmd.addAll(args(dir, kernel(), sock));
        Path err = dir.resolve(Path.of(program).getFileName() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(err.toFile()).start();
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            long end = System.currentTimeMillis() + 30_000;
            while (!Files.exists(sock) && p.isAlive() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            assertTrue(Files.exists(sock), program + ": " + Files.readString(err));
            try (QmpClient c = QmpClient.negotiated(sock)) {
                out.put("objects", sorted(call(c, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}")));
                for (String[] q : new String[][] {{"pc.ram", "size"}, {"pc.ram", "share"}, {"pc.ram", "seal"},
                        {"pc.ram", "hugetlb"}, {"pc.ram", "prealloc"}, {"pc.ram", "policy"}, {"pw0", "format"},
                        {"pw0", "keyid"}, {"pw0", "loaded"}, {"masterKey0", "format"}, {"iothread1", "poll-max-ns"},
                        {"iothread1", "poll-grow"}, {"iothread1", "aio-max-batch"}}) {
                    out.put(q[0] + "." + q[1], call(c, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/"
                            + q[0] + "\",\"property\":\"" + q[1] + "\"}}"));
                }
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> iothreads = (List<Map<String, Object>>) call(c,
                        "{\"execute\":\"query-iothreads\"}");
                assertEquals(1, iothreads.size(), iothreads.toString());
                Map<String, Object> t = new LinkedHashMap<>(iothreads.get(0));
                long tid = (Long) t.remove("thread-id");
                out.put("iothread", t);
                out.put("iothread-comm", comm(p.pid(), tid));
                out.put("process-comm", Files.readString(Path.of("/proc/" + p.pid() + "/comm")).strip());
                out.put("memfd-mapped", Files.readString(Path.of("/proc/" + p.pid() + "/maps"))
                        .contains("/memfd:memory-backend-memfd"));
                call(c, "{\"execute\":\"quit\"}");
            }
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        return out;
    }

    private static String comm(long pid, long tid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/task/" + tid + "/comm")).strip();
    }

    @SuppressWarnings("unchecked")
    private static List<String> sorted(Object qomList) {
        return ((List<Map<String, Object>>) qomList).stream().map(m -> m.get("name") + "=" + m.get("type"))
                .sorted().toList();
    }

    private static Object call(QmpClient c, String json) throws IOException {
        c.send(json);
        long end = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < end) {
            String l = c.readLine(200);
            if (l == null) {
                if (c.eof) {
                    break;
                }
                continue;
            }
            Map<?, ?> m = (Map<?, ?>) QmpClient.parse(l);
            if (m.containsKey("return")) {
                return m.get("return");
            }
            if (m.containsKey("error")) {
                return m;
            }
        }
        throw new AssertionError("no reply to " + json);
    }

    private static boolean qemuInstalled() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, "qemu-system-x86_64"))) {
                return true;
            }
        }
        return false;
    }

    /** -overcommit mem-lock=on: the process's memory is locked (mlockall), guest RAM resident. */
    @Test
    void memLockLocksTheProcess() throws Exception {
        Path kernel = kernel();
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "mlockall of guest RAM needs root or a large RLIMIT_MEMLOCK: test skipped");
        Process p = new ProcessBuilder(System.getProperty("jvmm.launcher", "../bin/jvmm"), "-nodefaults",
                "-display", "none", "-S", "-m", "64", "-overcommit", "mem-lock=on", "-kernel", kernel.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long end = System.currentTimeMillis() + 30_000;
            long rssKb = 0;
            String status = "";
            // guest RAM is populated before the vCPUs exist; wait for the whole 64 MiB to be resident
            while (p.isAlive() && System.currentTimeMillis() < end && rssKb < (64 << 10)) {
                Thread.sleep(50);
                status = Files.readString(Path.of("/proc/" + p.pid() + "/status"));
                rssKb = kb(status, "VmRSS:");
            }
            assertTrue(kb(status, "VmLck:") > 0, status);
            assertTrue(rssKb >= (64 << 10), status);
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static long kb(String status, String field) {
        return status.lines().filter(l -> l.startsWith(field)).findFirst()
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(0L);
    }

    @Test
    void objectsAsQemuShowsThem() throws Exception {
        Path dir = Files.createTempDirectory("jvmm-objects");
        Map<String, Object> j = run(System.getProperty("jvmm.launcher", "../bin/jvmm"), dir);
        assertEquals(List.of("iothread1=child<iothread>", "masterKey0=child<secret>",
                "pc.ram=child<memory-backend-memfd>", "pw0=child<secret>", "type=string"), j.get("objects"));
        assertEquals(134217728L, j.get("pc.ram.size"));
        assertEquals(true, j.get("pc.ram.share"));
        assertEquals(true, j.get("memfd-mapped"));
        assertEquals("IO iothread1", j.get("iothread-comm"));
        assertEquals("objtest", j.get("process-comm"));
        assertEquals(100L, j.get("iothread1.poll-max-ns"));
        if (qemuInstalled()) {
            Map<String, Object> q = run("qemu-system-x86_64", dir);
            assertEquals(q, j);
        }
    }
}
