package dev.jvmm.devices.smbios;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.devices.Qtest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Byte-for-byte comparison with QEMU 7.2 (DMTF SMBIOS 3.x sections 5.2.1 and 7): QEMU runs under qtest, its
 * fw_cfg files etc/smbios/smbios-tables and etc/smbios/smbios-anchor are read through the fw_cfg ports, and
 * the builder gets the same inputs. The vCPU's CPUID signature is taken from QEMU's own type 4, since TCG's
 * qemu64 model is not the vCPU jvmm runs.
 */
class SmbiosQemuComparisonTest {
    /** fw_cfg selector and data ports (the I/O interface QEMU's pc machine maps). */
    private static final String SELECTOR = "0x510";
    private static final String DATA = "0x511";
    /** The fw_cfg key of the file directory. */
    private static final int FILE_DIR = 0x19;
    /** The legacy SMBIOS key, which pc-i440fx-7.2 does not offer. */
    private static final int LEGACY_SMBIOS = 0x8001;
    private static final int DIR_ENTRY = 64;
    private static final SmbiosInputs.Topology ONE = new SmbiosInputs.Topology(1, 1, 1, 1);

    @TempDir
    static Path dir;

    @BeforeAll
    static void qemuPresent() {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed: no QEMU 7.2 to compare with");
    }

    @Test
    void defaults() throws Exception {
        compare(List.of(), 128L << 20, ONE, Optional.empty(), List.of());
    }

    @Test
    void twoSocketsTwoCores() throws Exception {
        compare(List.of("-smp", "4,sockets=2,cores=2"), 128L << 20, new SmbiosInputs.Topology(2, 1, 2, 1),
                Optional.empty(), List.of());
    }

    @Test
    void diesAndMaxCpus() throws Exception {
        compare(List.of("-smp", "8,sockets=2,dies=2,cores=2,maxcpus=16"), 128L << 20,
                new SmbiosInputs.Topology(2, 2, 2, 2), Optional.empty(), List.of());
    }

    @Test
    void ramAbove4g() throws Exception {
        compare(List.of("-m", "8G"), 8L << 30, ONE, Optional.empty(), List.of());
    }

    @Test
    void ramAtTheSplitAndTwoDimms() throws Exception {
        compare(List.of("-m", "3584M"), 3584L << 20, ONE, Optional.empty(), List.of());
        compare(List.of("-m", "20481M"), 20481L << 20, ONE, Optional.empty(), List.of());
    }

    @Test
    void uuid() throws Exception {
        String u = "12345678-9abc-def0-1122-334455667788";
        compare(List.of("-uuid", u), 128L << 20, ONE, Optional.of(UUID.fromString(u)), List.of());
    }

    @Test
    void fieldOptions() throws Exception {
        Path oem = dir.resolve("oem.txt");
        Files.writeString(oem, "from a file\nline two");
        compare(List.of("-m", "256M", "-smp", "2,sockets=2"), 256L << 20, new SmbiosInputs.Topology(2, 1, 1, 1),
                Optional.empty(), List.of(
                "type=0,vendor=Acme BIOS,version=1.2.3,date=01/02/2003,release=4.5,uefi=on",
                "type=1,manufacturer=Acme,product=Box,version=v1,serial=S1,sku=K1,family=F1,"
                        + "uuid=01020304-0506-0708-090a-0b0c0d0e0f10",
                "type=1,serial=S2",
                "type=2,manufacturer=Board Co,product=BB,version=2,serial=s,asset=a,location=slot",
                "type=3,manufacturer=Case,version=c1,serial=cs,asset=ca,sku=csku",
                "type=4,sock_pfx=Socket,manufacturer=Chip,version=X,serial=ps,asset=pa,part=pp,"
                        + "max-speed=3000,current-speed=0x800,processor-id=0x1122334455667788",
                "type=8,internal_reference=J1,external_reference=USB,connector_type=18,port_type=16",
                "type=8,external_reference=COM",
                "type=11,value=first,value=,value=second,path=" + oem,
                "type=17,loc_pfx=Slot,bank=B0,manufacturer=Mem,serial=ms,asset=ma,part=mp,speed=70000"));
    }

    @Test
    void emptyAndOverriddenStrings() throws Exception {
        compare(List.of(), 128L << 20, ONE, Optional.empty(), List.of(
                "type=1,manufacturer=,product=P", "type=0", "type=4,sock_pfx=,max-speed=1", "type=17,loc_pfx="));
    }

    @Test
    void rawFiles() throws Exception {
        Path oem = dir.resolve("t11.bin");
        Files.write(oem, HexFormat.of().parseHex("0b0500e001" + "6869" + "00" + "00"));
        Path odd = dir.resolve("odd.bin");
        // a length byte past the end and no terminator: QEMU passes blobs through unchecked
        Path t4 = dir.resolve("t4.bin");
        Files.write(odd, HexFormat.of().parseHex("80ff3412"));
        Files.write(t4, HexFormat.of().parseHex("041a0004" + "00".repeat(22) + "0000"));
        compare(List.of(), 128L << 20, ONE, Optional.empty(), List.of("file=" + oem, "file=" + odd,
                "file=" + t4));
    }

    @Test
    void entryPoint64() throws Exception {
        compare(List.of("-machine", "pc,smbios-entry-point-type=64", "-smp", "6,sockets=2,cores=3"), 128L << 20,
                new SmbiosInputs.Topology(2, 1, 3, 1), Optional.empty(), List.of("type=4,part=p"),
                in -> in.withEntryPoint(SmbiosInputs.EntryPointType.BITS_64));
    }

    @Test
    void onboardDevices() throws Exception {
        // with -nodefaults the first free slot after the PIIX functions is 2: devfn 0x10 on bus 0
        compare(List.of("-device", "virtio-rng-pci,id=rng0"), 128L << 20, ONE, Optional.empty(),
                List.of("type=41,designation=Onboard,kind=ethernet,instance=3,pcidev=rng0", "type=41,kind=sas",
                        "type=41,designation=x,instance=300"),
                in -> in.withPciDevices(id -> id.equals("rng0")
                        ? Optional.of(new SmbiosInputs.PciLocation(0, 0x10, true)) : Optional.empty()));
    }

    @Test
    void errorMessages() throws Exception {
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[] {1, 2});
        Path nul = dir.resolve("nul.txt");
        Files.write(nul, new byte[] {'a', 0, 'b'});
        for (String bad : List.of("type=abc", "type=300", "type=1,foo=bar", "type=0,uefi=maybe", "type=0,release=1",
                "type=1,uuid=zz", "type=4,max-speed=70000", "type=4,current-speed=-1", "type=17,speed=0x",
                "type=17,speed=99999999999999999999", "vendor=x", "", "file=/nonexistent/smbios.bin",
                "file=" + tiny, "file=" + tiny + ",type=1", "type=11,path=/nonexistent/oem.txt",
                "type=11,path=" + nul, "type=9,slot_designation=x", "type=1,,x", "type=41,kind=bogus",
                "type=41,instance=x", "type=8,port_type=x")) {
            OptionException ours = assertThrows(OptionException.class, () -> SmbiosOptions.parse(List.of(bad)));
            assertEquals(qemuError("-smbios", bad), Qtest.QEMU + ": " + ours.formatted(), bad);
        }
    }

    /** QEMU's one-line start-up error for the option. */
    private static String qemuError(String option, String value) throws Exception {
        Process p = new ProcessBuilder(Qtest.QEMU, "-machine", "pc", "-accel", "tcg", "-S", "-display", "none",
                "-nodefaults", "-qtest", "stdio", option, value).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return err.lines().filter(l -> l.startsWith(Qtest.QEMU + ": ")).findFirst().orElse(err);
    }

    /** Starts QEMU with the options, builds ours from the same inputs, and compares both files. */
    private static void compare(List<String> qemuArgs, long ram, SmbiosInputs.Topology topology,
                                Optional<UUID> uuid, List<String> smbios) throws Exception {
        compare(qemuArgs, ram, topology, uuid, smbios, in -> in);
    }

    /** The same, with the builder's inputs adjusted by machine (entry point type, PCI devices). */
    private static void compare(List<String> qemuArgs, long ram, SmbiosInputs.Topology topology,
                                Optional<UUID> uuid, List<String> smbios,
                                java.util.function.UnaryOperator<SmbiosInputs> machine) throws Exception {
        // -S: under TCG, SeaBIOS would otherwise run and move the fw_cfg selector under our reads
        List<String> argv = new ArrayList<>(List.of("-S"));
        argv.addAll(qemuArgs);
        smbios.forEach(s -> argv.addAll(List.of("-smbios", s)));
        Map<String, byte[]> qemu;
        byte[] legacy;
        byte[] fwCfgUuid;
        try (Qtest q = Qtest.start(argv.toArray(String[]::new))) {
            qemu = readFiles(q);
            legacy = read(q, LEGACY_SMBIOS, 2);
            fwCfgUuid = read(q, SmbiosTables.FW_CFG_UUID_KEY, 16);
        }
        assertEquals("0000", HexFormat.of().formatHex(legacy), "no legacy SMBIOS entries for pc-i440fx-7.2");
        byte[] qemuTables = qemu.get(SmbiosTables.TABLES_FILE);
        SmbiosOptions options = SmbiosOptions.parse(smbios);
        long id = processorId(qemuTables);
        Optional<UUID> effective = uuid.isPresent() ? uuid : options.uuid();
        assertEquals(HexFormat.of().formatHex(fwCfgUuid), HexFormat.of().formatHex(SmbiosTables.fwCfgUuid(effective)),
                "FW_CFG_UUID for " + argv);
        SmbiosTables ours = SmbiosTables.build(machine.apply(SmbiosInputs.pc(ram, topology, (int) id,
                (int) (id >>> 32), effective, options)));
        assertEquals(HexFormat.of().formatHex(qemuTables), HexFormat.of().formatHex(ours.tables()),
                "tables for " + argv);
        assertEquals(HexFormat.of().formatHex(qemu.get(SmbiosTables.ANCHOR_FILE)),
                HexFormat.of().formatHex(ours.anchor()), "anchor for " + argv);
    }

    /**
     * The CPUID signature and features QEMU put in its first built type 4 (bytes 8..15), or 0 when it built
     * none; a processor-id= option makes this the option's value, which the builder then ignores.
     */
    private static long processorId(byte[] tables) {
        int i = 0;
        while (i + 4 <= tables.length) {
            int type = tables[i] & 0xff;
            int len = tables[i + 1] & 0xff;
            int handle = (tables[i + 2] & 0xff) | (tables[i + 3] & 0xff) << 8;
            if (type == SmbiosTables.TYPE_PROCESSOR && handle == 0x400) {
                long v = 0;
                for (int b = 15; b >= 8; b--) {
                    v = v << 8 | (tables[i + b] & 0xff);
                }
                return v;
            }
            int j = i + len;
            while (j + 1 < tables.length && (tables[j] != 0 || tables[j + 1] != 0)) {
                j++;
            }
            i = j + 2;
        }
        return 0;
    }

    /** The two SMBIOS files from QEMU's fw_cfg directory. */
    private static Map<String, byte[]> readFiles(Qtest q) throws IOException {
        int count = be(read(q, FILE_DIR, 4), 0, 4);
        byte[] directory = read(q, FILE_DIR, 4 + count * DIR_ENTRY);
        Map<String, byte[]> files = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (int e = 0; e < count; e++) {
            int base = 4 + e * DIR_ENTRY;
            int size = be(directory, base, 4);
            int select = be(directory, base + 4, 2);
            int nameEnd = base + 8;
            while (directory[nameEnd] != 0) {
                nameEnd++;
            }
            String name = new String(directory, base + 8, nameEnd - base - 8);
            names.add(name);
            if (name.equals(SmbiosTables.TABLES_FILE) || name.equals(SmbiosTables.ANCHOR_FILE)) {
                files.put(name, read(q, select, size));
            }
        }
        assertEquals(2, files.size(), "SMBIOS files in QEMU's fw_cfg directory " + names);
        return files;
    }

    /** Selects key and reads length bytes through the data port, in batched qtest commands. */
    private static byte[] read(Qtest q, int key, int length) throws IOException {
        List<String> cmds = new ArrayList<>();
        cmds.add("outw " + SELECTOR + " 0x" + Integer.toHexString(key));
        for (int i = 0; i < length; i++) {
            cmds.add("inb " + DATA);
        }
        List<String> answers = q.commands(cmds);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) Long.decode(answers.get(i + 1)).intValue();
        }
        return b;
    }

    private static int be(byte[] b, int off, int len) {
        int v = 0;
        for (int i = 0; i < len; i++) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }
}
