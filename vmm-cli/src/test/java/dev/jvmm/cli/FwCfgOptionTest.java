package dev.jvmm.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -fw_cfg as QEMU 7.2 parses and checks it (texts from qemu-system-x86_64 runs). */
class FwCfgOptionTest {
    private static MachineConfig config(String... args) {
        return CliArgs.config(args);
    }

    private static String error(String... args) {
        return CliArgs.error(args);
    }

    @Test
    void stringAndFileSourcesInOrder(@TempDir Path dir) throws Exception {
        Path f = Files.write(dir.resolve("blob"), new byte[] {1, 2, 3});
        MachineConfig c = config("-fw_cfg", "name=opt/b,string=hello", "-fw_cfg", "opt/a,file=" + f);
        List<FwCfgArg> files = c.fwCfgFiles();
        assertEquals(2, files.size());
        assertEquals(new FwCfgArg("-fw_cfg name=opt/b,string=hello", "opt/b", Optional.empty(), Optional.of("hello"),
                Optional.empty()), files.get(0));
        assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), files.get(0).content());
        assertEquals("opt/a", files.get(1).name());
        assertArrayEquals(new byte[] {1, 2, 3}, files.get(1).content());
        assertEquals(List.of(), config().fwCfgFiles());
    }

    @Test
    void namesOutsideOptGetQemusWarning() {
        FwCfgArg a = config("-fw_cfg", "name=foo,string=x").fwCfgFiles().get(0);
        assertEquals(Optional.of("-fw_cfg name=foo,string=x: warning: externally provided fw_cfg item names should"
                + " be prefixed with \"opt/\""), a.warning());
    }

    @Test
    void qemusErrors() {
        String needed = "name, plus exactly one of file, string and gen_id, are needed";
        assertEquals("-fw_cfg string=x: " + needed, error("-fw_cfg", "string=x"));
        assertEquals("-fw_cfg name=opt/a: " + needed, error("-fw_cfg", "name=opt/a"));
        assertEquals("-fw_cfg name=,string=x: " + needed, error("-fw_cfg", "name=,string=x"));
        assertEquals("-fw_cfg name=opt/a,string=: " + needed, error("-fw_cfg", "name=opt/a,string="));
        assertEquals("-fw_cfg name=opt/a,string=x,file=/etc/hostname: " + needed,
                error("-fw_cfg", "name=opt/a,string=x,file=/etc/hostname"));
        String longName = "opt/" + "a".repeat(52);
        assertEquals("-fw_cfg name=" + longName + ",string=x: name too long (max. 55 char)",
                error("-fw_cfg", "name=" + longName + ",string=x"));
        assertEquals(55, config("-fw_cfg", "name=opt/" + "a".repeat(51) + ",string=x").fwCfgFiles().get(0)
                .name().length());
        assertEquals("-fw_cfg name=opt/a,bogus=1: Invalid parameter 'bogus'", error("-fw_cfg", "name=opt/a,bogus=1"));
        assertEquals("-fw_cfg name=opt/a,file=/nonexist: can't load /nonexist: Failed to open file \u201c/nonexist"
                + "\u201d: No such file or directory", error("-fw_cfg", "name=opt/a,file=/nonexist"));
        assertTrue(error("-fw_cfg", "name=opt/a,file=/tmp").endsWith(
                "can't load /tmp: Error reading file \u201c/tmp\u201d: Is a directory"));
        assertEquals("-fw_cfg name=opt/a,gen_id=nope: Cannot find object ID 'nope'",
                error("-fw_cfg", "name=opt/a,gen_id=nope"));
        assertEquals("-fw_cfg name=opt/a,gen_id=s0: Object ID 's0' is not a 'fw_cfg-data-generator' subclass",
                error("-object", "secret,id=s0,data=x", "-fw_cfg", "name=opt/a,gen_id=s0"));
        assertEquals("-fw_cfg name=opt/x,string=b: duplicate fw_cfg file name: opt/x",
                error("-fw_cfg", "name=opt/x,string=a", "-fw_cfg", "name=opt/x,string=b"));
    }

    @Test
    void listedByQueryCommandLineOptions() {
        assertTrue(CommandLineOptions.ALL.stream().anyMatch(o -> o.option().equals("fw_cfg")
                && o.parameters().stream().map(p -> p.name()).toList()
                .equals(List.of("gen_id", "string", "file", "name"))));
    }
}
