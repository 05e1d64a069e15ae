package dev.jvmm.core.objects;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.QomTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -object parsing and the objects' checks, with QEMU 7.2's texts (taken from qemu-system-x86_64 runs). */
class UserObjectsTest {
    private static UserObjects create(String... args) {
        return UserObjects.create(List.of(args), id -> "IO " + id);
    }

    private static String error(String... args) {
        return assertThrows(OptionException.class, () -> create(args)).formatted();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "foo,id=x|-object foo,id=x: Parameter 'qom-type' does not accept value 'foo'",
            "{\"qom-type\":\"foo\",\"id\":\"x\"}|-object {\"qom-type\":\"foo\",\"id\":\"x\"}: Parameter 'qom-type' does not accept value 'foo'",
            "id=x|-object id=x: Parameter 'qom-type' is missing",
            "iothread|-object iothread: Parameter 'id' is missing",
            "memory-backend-ram,id=x|-object memory-backend-ram,id=x: Parameter 'size' is missing",
            "iothread,id=x,foo=1|-object iothread,id=x,foo=1: Invalid parameter 'foo'",
            "{\"qom-type\":\"iothread\",\"id\":\"x\",\"foo\":1}|-object {\"qom-type\":\"iothread\",\"id\":\"x\",\"foo\":1}: Parameter 'foo' is unexpected",
            "iothread,id=x,poll-max-ns=abc|-object iothread,id=x,poll-max-ns=abc: Parameter 'poll-max-ns' expects an int64 value",
            "memory-backend-ram,id=x,size=1M,share=maybe|-object memory-backend-ram,id=x,size=1M,share=maybe: Parameter 'share' expects 'on' or 'off'",
            "secret,id=s|Either 'file' or 'data' must be provided",
            "secret,id=s,data=a,file=/etc/hostname|'file' and 'data' are mutually exclusive",
            "secret,id=s,file=/nonexist|Unable to read /nonexist: Failed to open file \u201c/nonexist\u201d: No such file or directory",
            "secret,id=s,data=!!,format=base64|Base64 data contains invalid characters",
            "secret,id=s,data=abc,keyid=nokey|No secret with id 'nokey'",
            "memory-backend-file,id=f,size=64M|-object memory-backend-file,id=f,size=64M: Parameter 'mem-path' is missing",
            "memory-backend-ram,id=m,size=1M,host-nodes=0|host-nodes must be empty for policy default, or you should explicitly specify a policy other than default",
    })
    void qemuErrors(String arg, String expected) {
        assertEquals(expected, error(arg));
    }

    /** memory-backend-file: a named file is created, grown to size and, with share=on, written through. */
    @Test
    void fileBackendMapsItsFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path f = dir.resolve("ram.img");
        MemoryBackend b = create("memory-backend-file,id=f,size=2M,share=on,mem-path=" + f).memoryBackend("f")
                .orElseThrow();
        try (dev.jvmm.core.memory.GuestMemory m = b.map(List.of(new dev.jvmm.core.memory.RamRange(0x1000000, 2L << 20)))) {
            m.writeInt(0x1000000 + 4096, 0x4a564d4d);
        }
        assertEquals(2L << 20, java.nio.file.Files.size(f));
        byte[] d = java.nio.file.Files.readAllBytes(f);
        assertEquals(0x4d, d[4096]);
        java.nio.file.Files.write(f, new byte[4096]);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> b.map(List.of(new dev.jvmm.core.memory.RamRange(0, 2L << 20))));
        assertEquals("backing store size 0x1000 does not match 'size' option 0x200000", e.getMessage());
        MemoryBackend tmp = create("memory-backend-file,id=t,size=2M,mem-path=" + dir).memoryBackend("t").orElseThrow();
        try (dev.jvmm.core.memory.GuestMemory m = tmp.map(List.of(new dev.jvmm.core.memory.RamRange(0, 2L << 20)))) {
            m.writeInt(0, 1);
            assertEquals(1, m.readInt(0));
        }
        assertEquals(1, java.nio.file.Files.list(dir).count(), "the temporary file in a directory is unlinked");
    }

    @Test
    void identifiersAndDuplicates() {
        assertEquals("-object memory-backend-ram,id=1m,size=1M: Parameter 'id' expects an identifier\n"
                + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.",
                error("memory-backend-ram,id=1m,size=1M"));
        assertEquals("-object iothread,id=m: Duplicate ID 'm' for object", error("iothread,id=m", "iothread,id=m"));
    }

    @Test
    void rawAndBase64Secrets() {
        UserObjects o = create("secret,id=a,data=hello", "secret,id=b,data=aGVsbG8=,format=base64");
        assertEquals("hello", o.secret("a").orElseThrow().text());
        assertEquals("hello", o.secret("b").orElseThrow().text());
    }

    @Test
    void secretFromFile() throws Exception {
        Path f = Files.createTempFile("secret", ".txt");
        Files.writeString(f, "from a file");
        assertEquals("from a file", create("secret,id=s,file=" + f).secret("s").orElseThrow().text());
    }

    /** libvirt's way: the master key in a file, each secret AES-256-CBC encrypted under it, base64. */
    @Test
    void encryptedSecretAsLibvirtWritesIt() throws Exception {
        byte[] key = new byte[32];
        byte[] iv = new byte[16];
        for (int i = 0; i < 32; i++) {
            key[i] = (byte) (31 * i + 3);
        }
        for (int i = 0; i < 16; i++) {
            iv[i] = (byte) (5 * i);
        }
        Path keyFile = Files.createTempFile("master-key", ".aes");
        Files.write(keyFile, key);
        Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
        for (String plain : List.of("", "a", "exactly16bytes!!", "a longer password, several blocks long")) {
            String data = Base64.getEncoder().encodeToString(c.doFinal(plain.getBytes(StandardCharsets.UTF_8)));
            UserObjects o = create("{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\""
                    + keyFile + "\"}", "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"" + data
                    + "\",\"keyid\":\"masterKey0\",\"iv\":\"" + Base64.getEncoder().encodeToString(iv)
                    + "\",\"format\":\"base64\"}");
            assertArrayEquals(plain.getBytes(StandardCharsets.UTF_8), o.secret("s").orElseThrow().value());
        }
        String keyArg = "secret,id=k,file=" + keyFile;
        assertEquals("IV is required to decrypt secret", error(keyArg, "secret,id=s,data=abcd,keyid=k"));
        assertEquals("Length 4 must be a multiple of block size 16",
                error(keyArg, "secret,id=s,data=abcd,keyid=k,iv=AAAAAAAAAAAAAAAAAAAAAA=="));
        assertEquals("Key should be 32 bytes in length",
                error("secret,id=k,data=short", "secret,id=s,data=abcd,keyid=k,iv=AAAAAAAAAAAAAAAAAAAAAA=="));
    }

    @Test
    void backendsAndIothreadsInTheTree() {
        UserObjects o = create("memory-backend-memfd,id=pc.ram,size=64M,seal=off",
                "{\"qom-type\":\"memory-backend-ram\",\"id\":\"r\",\"size\":1048576,\"share\":true}",
                "iothread,id=io1,poll-max-ns=100,poll-grow=2");
        MemoryBackend memfd = o.memoryBackend("pc.ram").orElseThrow();
        assertEquals(64L << 20, memfd.size());
        assertTrue(memfd.share());
        assertEquals(false, memfd.seal());
        assertTrue(o.memoryBackend("r").orElseThrow().share());
        assertTrue(o.memoryBackend("io1").isEmpty());
        IoThread t = o.iothreads().get(0);
        assertEquals(100, t.pollMaxNs());
        assertEquals(2, t.pollGrow());
        assertEquals(IoThread.DEFAULT_POLL_MAX_NS, create("iothread,id=x").iothreads().get(0).pollMaxNs());
        QomTree tree = new QomTree();
        var objects = tree.root().addChild("objects", "container");
        o.describe(objects);
        assertEquals(List.of("pc.ram", "r", "io1"), objects.children().stream().map(n -> n.name()).toList());
        assertEquals("memory-backend-memfd", objects.child("pc.ram").orElseThrow().type());
    }

    @Test
    void iothreadStartsAndReportsItsThread() {
        UserObjects o = create("iothread,id=io1");
        try {
            o.start();
            assertTrue(o.iothreads().get(0).threadId() > 0);
        } finally {
            o.close();
        }
    }

    /** object-add and object-del at run time: /objects follows, a backend in use stays, iothreads start. */
    @Test
    void runtimeAddAndDelete() throws Exception {
        UserObjects o = create("iothread,id=io0");
        try {
            QomTree tree = new QomTree();
            var objects = tree.root().addChild("objects", "container");
            o.addDefaultRam(1 << 20, true, true);
            o.describe(objects);
            o.start();
            o.add("memory-backend-ram", "m0", java.util.Map.of("size", "1073741824"));
            assertTrue(objects.child("m0").isPresent(), "a runtime object gets its node");
            o.add("iothread", "io1", java.util.Map.of());
            assertTrue(o.iothreads().get(1).threadId() > 0, "an iothread added while running starts");
            assertEquals("attempt to add duplicate property 'io0' to object (type 'container')", assertThrows(
                    dev.jvmm.core.machine.MachineCommandException.class,
                    () -> o.add("iothread", "io0", java.util.Map.of())).getMessage());
            assertEquals("Parameter 'size' is missing", assertThrows(
                    dev.jvmm.core.machine.MachineCommandException.class,
                    () -> o.add("memory-backend-ram", "m1", java.util.Map.of())).getMessage());
            assertEquals("object 'pc.ram' is in use, can not be deleted", assertThrows(
                    dev.jvmm.core.machine.MachineCommandException.class, () -> o.delete("pc.ram")).getMessage());
            o.markInUse("m0");
            assertThrows(dev.jvmm.core.machine.MachineCommandException.class, () -> o.delete("m0"));
            o.release("m0");
            o.delete("m0");
            o.delete("io1");
            assertTrue(objects.child("m0").isEmpty() && objects.child("io1").isEmpty(), "deleted objects' nodes go");
            assertEquals(List.of("io0"), o.iothreads().stream().map(IoThread::id).toList());
            assertEquals("object 'm0' not found", assertThrows(dev.jvmm.core.machine.MachineCommandException.class,
                    () -> o.delete("m0")).getMessage());
        } finally {
            o.close();
        }
    }
}
