package dev.jvmm.devices.smbios;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The -smbios rules (SMBIOS 3.x section 7 fields) with QEMU 7.2's messages, and the encoder's edge cases. */
class SmbiosOptionsTest {
    private static final SmbiosInputs.Topology ONE = new SmbiosInputs.Topology(1, 1, 1, 1);

    @TempDir
    Path dir;

    private static String error(String... options) {
        OptionException e = assertThrows(OptionException.class, () -> SmbiosOptions.parse(List.of(options)));
        return e.formatted();
    }

    @Test
    void qemuMessagesForBadOptions() {
        assertEquals("-smbios type=abc: Parameter 'type' expects a number", error("type=abc"));
        assertEquals("-smbios type=1.5: Parameter 'type' expects a number", error("type=1.5"));
        assertEquals("-smbios type=300: out of range!", error("type=300"));
        assertEquals("-smbios type=-1: out of range!", error("type=-1"));
        assertEquals("-smbios type=1,foo=bar: Invalid parameter 'foo'", error("type=1,foo=bar"));
        assertEquals("-smbios type=0,uefi=maybe: Parameter 'uefi' expects 'on' or 'off'", error("type=0,uefi=maybe"));
        assertEquals("-smbios type=0,release=1: Invalid release", error("type=0,release=1"));
        assertEquals("-smbios type=1,uuid=zz: Invalid UUID", error("type=1,uuid=zz"));
        assertEquals("-smbios type=1,uuid=: Invalid UUID", error("type=1,uuid="));
        assertEquals("-smbios type=4,max-speed=70000: SMBIOS CPU speed is too large (> 65535)",
                error("type=4,max-speed=70000"));
        assertEquals("-smbios type=4,max-speed=-1: SMBIOS CPU speed is too large (> 65535)",
                error("type=4,max-speed=-1"));
        assertEquals("-smbios type=4,max-speed=abc: Parameter 'max-speed' expects a number",
                error("type=4,max-speed=abc"));
        assertEquals("-smbios type=17,speed=99999999999999999999: Value '99999999999999999999' is too large "
                + "for parameter 'speed'", error("type=17,speed=99999999999999999999"));
        assertEquals("-smbios vendor=x: Must specify type= or file=", error("vendor=x"));
        assertEquals("-smbios : Must specify type= or file=", error(""));
        assertEquals("-smbios type=9,slot_designation=x: Don't know how to build fields for SMBIOS type 9",
                error("type=9,slot_designation=x"));
        assertEquals("-smbios type=11,value=a,foo=b: Invalid parameter 'foo'", error("type=11,value=a,foo=b"));
        assertEquals("-smbios type=11,path=/nonexistent/x: Could not open '/nonexistent/x': No such file or "
                + "directory", error("type=11,path=/nonexistent/x"));
        assertEquals("-smbios file=/nonexistent/x: Cannot read SMBIOS file /nonexistent/x",
                error("file=/nonexistent/x"));
    }

    @Test
    void fileAndFieldsExcludeEachOther() throws IOException {
        Path t4 = dir.resolve("t4.bin");
        Files.write(t4, HexFormat.of().parseHex("041a0004000000"));
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[] {1, 2});
        assertEquals("-smbios type=4,part=x: can't add fields, binary file already loaded!",
                error("file=" + t4, "type=4,part=x"));
        assertEquals("-smbios file=" + t4 + ": can't load type 4 struct, fields already specified!",
                error("type=4,part=x", "file=" + t4));
        assertEquals("-smbios file=" + t4 + ",type=1: Invalid parameter 'type'", error("file=" + t4 + ",type=1"));
        assertEquals("-smbios file=" + tiny + ": Cannot read SMBIOS file " + tiny, error("file=" + tiny));
    }

    @Test
    void oemFileWithNulIsRefused() throws IOException {
        Path nul = dir.resolve("nul.txt");
        Files.write(nul, new byte[] {'a', 0, 'b'});
        assertEquals("-smbios type=11,path=" + nul + ": NUL in OEM strings value in " + nul,
                error("type=11,path=" + nul));
    }

    @Test
    void numbersAndReleasesAsQemuReadsThem() {
        SmbiosOptions o = SmbiosOptions.parse(List.of("type=0x0,release=300.1", "type=4,processor-id=0x10",
                "type=17,speed=70000", "type=1,type=2,manufacturer=m"));
        assertEquals(new SmbiosOptions.Release(44, 1), o.release().orElseThrow());
        assertEquals(0x10, o.processorId());
        assertEquals(70000 & 0xffff, o.memorySpeed());
        assertEquals("m", o.string(2, "manufacturer"));
        assertTrue(o.fieldTypes().containsAll(List.of(0, 2, 4, 17)));
        assertFalse(o.fieldTypes().contains(1), "type=1,type=2 names type 2: the last value wins");
        assertEquals(Optional.of(new SmbiosOptions.Release(1, 2)), SmbiosOptionParser.parseRelease("1.2.3"));
        assertEquals(Optional.empty(), SmbiosOptionParser.parseRelease("1.x"));
    }

    @Test
    void laterOptionsOverrideOnlyWhatTheyGive() {
        SmbiosOptions o = SmbiosOptions.parse(List.of("type=4,max-speed=3000,part=p", "type=4,serial=s",
                "type=11,value=a,value=b", "type=11,value=c"));
        assertEquals(SmbiosOptions.DEFAULT_CPU_SPEED, o.maxSpeed(), "each type=4 option resets the speeds");
        assertEquals("p", o.string(4, "part"));
        assertEquals("s", o.string(4, "serial"));
        assertEquals(3, o.oemStrings().size());
    }

    @Test
    void uuidsAsQemuParsesThem() {
        assertEquals(Optional.of(UUID.fromString("01020304-0506-0708-090a-0b0c0d0e0f10")),
                SmbiosOptions.parseUuid("01020304-0506-0708-090A-0B0C0D0E0F10"));
        assertEquals(Optional.empty(), SmbiosOptions.parseUuid("1-2-3-4-5"));
        assertEquals(Optional.empty(), SmbiosOptions.parseUuid("01020304-0506-0708-090a-0b0c0d0e0f1g"));
        assertEquals(Optional.empty(), SmbiosOptions.parseUuid("0102030405-06-0708-090a-0b0c0d0e0f10"));
        SmbiosOptions o = SmbiosOptions.parse(List.of("type=3", "type=1,uuid=01020304-0506-0708-090a-0b0c0d0e0f10"));
        assertEquals(1, o.uuidOption());
        assertArrayEquals(HexFormat.of().parseHex("04030201060508070" + "90a0b0c0d0e0f10"),
                SmbiosTables.uuidWireBytes(o.uuid().orElseThrow()));
    }

    @Test
    void onboardDevicesNeedARootBusDevice() {
        SmbiosOptions o = SmbiosOptions.parse(List.of("type=41,pcidev=nic0"));
        SmbiosInputs in = SmbiosInputs.pc(128L << 20, ONE, 0, 0, Optional.empty(), o);
        assertEquals("No PCI device nic0 for SMBIOS type 41 entry (null)",
                assertThrows(OptionException.class, () -> SmbiosTables.build(in)).formatted());
        assertEquals("Cannot create type 41 entry for PCI device nic0: not attached to the root bus",
                assertThrows(OptionException.class, () -> SmbiosTables.build(in.withPciDevices(
                        id -> Optional.of(new SmbiosInputs.PciLocation(1, 0, false))))).formatted());
        assertEquals("-smbios type=41,kind=Video: invalid parameter value: Video", error("type=41,kind=Video"));
    }

    @Test
    void pcRamLayout() {
        assertEquals(List.of(new SmbiosInputs.MemoryArea(0, 128L << 20)), SmbiosInputs.pcRamAreas(128L << 20));
        assertEquals(List.of(new SmbiosInputs.MemoryArea(0, 3L << 30)), SmbiosInputs.pcRamAreas(3L << 30));
        assertEquals(List.of(new SmbiosInputs.MemoryArea(0, 3L << 30),
                new SmbiosInputs.MemoryArea(1L << 32, 512L << 20)), SmbiosInputs.pcRamAreas(3584L << 20));
        assertEquals(List.of(new SmbiosInputs.MemoryArea(0, 1L << 30),
                new SmbiosInputs.MemoryArea(1L << 32, 1L << 30)), SmbiosInputs.pcRamAreas(2L << 30, 1L << 30));
    }

    @Test
    void wrongNumberOfProcessorBlobsIsQemusStartupError() throws IOException {
        Path t4 = dir.resolve("t4.bin");
        Files.write(t4, HexFormat.of().parseHex("041a0004" + "00".repeat(22) + "0000"));
        SmbiosOptions o = SmbiosOptions.parse(List.of("file=" + t4));
        OptionException e = assertThrows(OptionException.class, () -> SmbiosTables.build(
                SmbiosInputs.pc(128L << 20, new SmbiosInputs.Topology(2, 1, 1, 1), 0, 0, Optional.empty(), o)));
        assertEquals("Expected 2 SMBIOS Type 4 tables, got 1 instead", e.formatted());
        SmbiosTables one = SmbiosTables.build(SmbiosInputs.pc(128L << 20, ONE, 0, 0, Optional.empty(), o));
        assertEquals(List.of(4, 1, 3, 16, 17, 19, 32, 127), one.structureTypes());
    }

    @Test
    void tooLongATableIsRefused() {
        String big = "x".repeat(60000);
        SmbiosOptions o = SmbiosOptions.parse(List.of("type=11,value=" + big + ",value=" + big));
        OptionException e = assertThrows(OptionException.class,
                () -> SmbiosTables.build(SmbiosInputs.pc(128L << 20, ONE, 0, 0, Optional.empty(), o)));
        assertTrue(e.getMessage().matches("SMBIOS 2\\.1 table length \\d+ exceeds 65535"), e.getMessage());
    }

    @Test
    void malformedBlobsPassThroughUnchanged() throws IOException {
        Path odd = dir.resolve("odd.bin");
        byte[] bytes = HexFormat.of().parseHex("80ff3412");
        Files.write(odd, bytes);
        SmbiosTables t = SmbiosTables.build(SmbiosInputs.pc(128L << 20, ONE, 0, 0, Optional.empty(),
                SmbiosOptions.parse(List.of("file=" + odd))));
        assertArrayEquals(bytes, java.util.Arrays.copyOf(t.tables(), 4));
        assertEquals(31, t.anchor().length);
    }

    @Test
    void defaultTableLayout() {
        SmbiosTables t = SmbiosTables.build(SmbiosInputs.pc(20L << 30, new SmbiosInputs.Topology(2, 1, 2, 1),
                0x00060fb1, 0x078bfbfd, Optional.empty(), SmbiosOptions.NONE));
        assertEquals(List.of(1, 3, 4, 4, 16, 17, 17, 19, 19, 32, 127), t.structureTypes());
        assertEquals("_SM_", new String(t.anchor(), 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(t.tables().length, (t.anchor()[0x16] & 0xff) | (t.anchor()[0x17] & 0xff) << 8);
        assertEquals(11, t.anchor()[0x1c]);
    }
}
