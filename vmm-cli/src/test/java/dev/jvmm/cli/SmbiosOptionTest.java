package dev.jvmm.cli;

import dev.jvmm.core.machine.CommandLineOption;
import dev.jvmm.devices.smbios.SmbiosOptions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -smbios and -uuid on the command line (SMBIOS 3.x section 7.2: the type 1 UUID they share). */
class SmbiosOptionTest {
    private static final String A = "11111111-2222-3333-4444-555555555555";
    private static final String B = "66666666-7777-8888-9999-aaaaaaaaaaaa";

    private static MachineConfig config(String... args) {
        return CliArgs.config(args);
    }

    private static String error(String... args) {
        return CliArgs.error(args);
    }

    @Test
    void noOptions() {
        MachineConfig c = config();
        assertEquals(Optional.empty(), c.uuid());
        assertEquals(SmbiosOptions.NONE, c.smbios());
    }

    @Test
    void repeatedSmbiosOptionsAccumulate() {
        MachineConfig c = config("-smbios", "type=1,serial=s1", "-smbios", "type=1,sku=k", "--smbios",
                "type=1,serial=s2");
        assertEquals("s2", c.smbios().string(1, "serial"));
        assertEquals("k", c.smbios().string(1, "sku"));
    }

    @Test
    void theLastUuidWinsAsInQemu() {
        assertEquals(Optional.of(UUID.fromString(B)),
                config("-smbios", "type=1,uuid=" + A, "-uuid", B).uuid());
        assertEquals(Optional.of(UUID.fromString(A)),
                config("-uuid", B, "-smbios", "type=1,uuid=" + A).uuid());
        assertEquals(Optional.of(UUID.fromString(A)), config("-smbios", "type=1,uuid=" + A).uuid());
        assertEquals(Optional.of(UUID.fromString(B)), config("-uuid", B, "-smbios", "type=3").uuid());
    }

    @Test
    void qemuMessages() {
        assertEquals("-uuid nope: failed to parse UUID string: wrong format", error("-uuid", "nope"));
        assertEquals("-uuid 1-2-3-4-5: failed to parse UUID string: wrong format", error("-uuid", "1-2-3-4-5"));
        assertEquals("-smbios type=1,uuid=x: Invalid UUID", error("-smbios", "type=1,uuid=x"));
        assertEquals("-smbios type=5: Don't know how to build fields for SMBIOS type 5", error("-smbios", "type=5"));
    }

    @Test
    void queryCommandLineOptionsListsSmbiosWithoutParameters() {
        CommandLineOption smbios = CommandLineOptions.ALL.stream().filter(o -> o.option().equals("smbios"))
                .findFirst().orElseThrow();
        assertTrue(smbios.parameters().isEmpty());
        List<String> names = CommandLineOptions.ALL.stream().map(CommandLineOption::option).toList();
        assertEquals(names.indexOf("sandbox") + 1, names.indexOf("smbios"), "QEMU lists smbios after sandbox");
    }
}
