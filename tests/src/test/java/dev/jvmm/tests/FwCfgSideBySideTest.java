package dev.jvmm.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the guest reads from fw_cfg (ports 0x510/0x511) under QEMU 7.2 and jvmm for the same command line,
 * compared item by item: the tiny guest's `action=fwcfg` (tests/guest/src/fwcfg.c) prints the signature, the ID,
 * legacy keys 0x02-0x18 and x86 keys 0x8000-0x8004 (each read for a fixed length), the file directory with a
 * CRC-32 of every file (hex for small ones), etc/table-loader's commands and etc/acpi/tables' tables.
 *
 * <p>Everything must be the same, item by item, but for {@link #onlyLmceDiffers}: jvmm's ACPI tables (DSDT included), -kernel's items, its option
 * ROM and the ROM's bootorder entry are QEMU's (jvmm adds the kernel's even when it enters the kernel itself,
 * FirmwareKernel). Only the files' selector numbers are compared per side (0x20 + rank), since both sides
 * hold the same files.
 *
 * <p>tests/reference/fwcfg/*.txt are QEMU 7.2's outputs for the three command lines (samples; the -kernel keys
 * hold the guest's size and first bytes, so QEMU's live output is not compared with them). The comparison
 * itself is checked without any VMM against default.txt: the same transcript passes, any change fails.
 */
class FwCfgSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    static Stream<Arguments> commandLines() {
        Path dir = Env.tempDir("fwcfg-");
        Path vblk = disk(dir.resolve("vblk.raw"));
        Path ide = disk(dir.resolve("ide.raw"));
        return Stream.of(
                Arguments.of("default", new String[0]),
                Arguments.of("smp-uuid", new String[] {"-smp", "2", "-m", "256", "-uuid",
                        "12345678-1234-1234-1234-123456789abc"}),
                Arguments.of("boot-options-disks", new String[] {"-machine", "hpet=off", "-boot",
                        "menu=on,splash-time=1234,strict=on", "-fw_cfg", "name=opt/jvmm/test,string=hello",
                        "-drive", "file=" + vblk + ",format=raw,if=none,id=d0",
                        "-device", "virtio-blk-pci,drive=d0,bootindex=1",
                        "-drive", "file=" + ide + ",format=raw,if=none,id=d1",
                        "-device", "ide-hd,drive=d1,bus=ide.0,unit=0,bootindex=2"}));
    }

    private static Path disk(Path p) {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commandLines")
    void guestReadsQemusItems(String name, String[] extra) {
        GuestPair p = GuestPair.run(TIMEOUT, "action=fwcfg", extra, extra, TinyGuest.EXIT_PASSED);
        Map<String, String> q = items(p.qemu().stdout());
        checkFormat(q, p.qemu().stdout());
        p.jvmmHalf();
        Map<String, String> j = items(p.jvmm().stdout());
        assertFalse(j.containsKey("no device"), "jvmm: nothing answers at 0x510/0x511 (the guest read "
                + j.get("signature") + "); jvmm stderr: " + p.jvmm().stderr());
        List<String> diffs = differences(q, j);
        assertTrue(diffs.isEmpty(), "fw_cfg items differ (" + diffs.size() + "):\n" + String.join("\n", diffs)
                + "\njvmm stderr: " + p.jvmm().stderr());
        assertEquals(p.qemu().status(), p.jvmm().status(), "exit status; jvmm stderr: " + p.jvmm().stderr());
    }

    /** The QEMU half must show the whole format: signature "QEMU", every key, the directory, and the end. */
    private static void checkFormat(Map<String, String> q, String out) {
        assertEquals("signature 51454d55", q.get("signature"), out);
        for (int k = 0x02; k <= 0x18; k++) {
            assertTrue(q.containsKey(key(k)), "no line for key " + key(k) + "\n" + out);
        }
        for (int k = 0x8000; k <= 0x8004; k++) {
            assertTrue(q.containsKey(key(k)), "no line for key " + key(k) + "\n" + out);
        }
        assertTrue(q.containsKey("file etc/acpi/tables") && q.containsKey("acpi-table FACP")
                && q.containsKey("loader 0") && q.containsKey("done"), out);
        checkSelectors(q, "QEMU");
    }

    /** QEMU gives file i (sorted by name) selector 0x20 + i; the same must hold for jvmm's own directory. */
    private static void checkSelectors(Map<String, String> m, String who) {
        List<String> files = m.keySet().stream().filter(k -> k.startsWith("file ")).toList();
        for (int i = 0; i < files.size(); i++) {
            String sel = field(m.get(files.get(i)), "sel");
            assertEquals(String.format("%04x", 0x20 + i), sel, who + ": selector of " + files.get(i));
        }
    }

    static String key(int k) {
        return String.format("key %04x", k);
    }

    /**
     * "fwcfg: " lines by item ("signature", "key 0002", "file NAME", "loader N", "acpi-table SIG", ...) and the
     * guest's own lines before them ("line N").
     */
    static Map<String, String> items(String out) {
        Map<String, String> m = new LinkedHashMap<>();
        int n = 0;
        for (String l : out.lines().toList()) {
            if (!l.startsWith("fwcfg: ")) {
                m.put("line " + n++, l);
                continue;
            }
            String[] w = l.substring(7).split(" ");
            String id = switch (w[0]) {
                case "key", "file", "loader", "acpi-table" -> w[0] + " " + w[1];
                case "no", "too" -> l.substring(7); // "no device", "too many files"
                default -> w[0];
            };
            m.put(id, l.substring(7));
        }
        return m;
    }

    /** The word after `name` in an item line. */
    static String field(String line, String name) {
        String[] w = line.split(" ", -1);
        for (int i = 0; i + 1 < w.length; i++) {
            if (w[i].equals(name)) {
                return w[i + 1];
            }
        }
        return null;
    }

    /** The one named difference: IA32_FEATURE_CONTROL's LMCE bit in etc/msr_feature_control. */
    static final String MSR_FEATURE_CONTROL = "file etc/msr_feature_control";
    static final long FEATURE_CONTROL_LOCKED = 1;
    static final long FEATURE_CONTROL_LMCE = 1L << 20;

    /**
     * QEMU asks the firmware for local machine checks (LMCE) when KVM offers them to a host or max vCPU (Intel
     * hosts that have them). jvmm sets up no machine-check banks (no KVM_X86_SETUP_MCE), so its firmware must not
     * set the bit: everything else in the file is QEMU's, and without VMX or SGX there is no file at all.
     */
    static boolean onlyLmceDiffers(String qv, String jv) {
        long q = featureControl(qv);
        long expected = q & ~FEATURE_CONTROL_LMCE;
        if ((q & FEATURE_CONTROL_LMCE) == 0) {
            return false;
        }
        return expected == FEATURE_CONTROL_LOCKED ? jv == null : jv != null && featureControl(jv) == expected;
    }

    private static long featureControl(String line) {
        byte[] b = java.util.HexFormat.of().parseHex(field(line, "hex"));
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static List<String> differences(Map<String, String> q, Map<String, String> j) {
        List<String> d = new ArrayList<>();
        Set<String> all = new java.util.LinkedHashSet<>(q.keySet());
        all.addAll(j.keySet());
        for (String id : all) {
            String qv = q.get(id);
            String jv = j.get(id);
            if (id.equals(MSR_FEATURE_CONTROL) && qv != null && onlyLmceDiffers(qv, jv)) {
                continue;
            }
            if (qv == null) {
                d.add("only jvmm: " + jv);
                continue;
            }
            if (jv == null) {
                d.add("only QEMU: " + qv);
                continue;
            }
            if (!same(id, qv, jv)) {
                d.add("QEMU: " + qv + "\n jvmm: " + jv);
            }
        }
        if (d.isEmpty()) {
            checkSelectors(j, "jvmm");
        }
        return d;
    }

    private static boolean same(String id, String qv, String jv) {
        // selectors are checked per side: 0x20 + rank
        return qv.equals(jv) || (id.startsWith("file ") && withoutSel(qv).equals(withoutSel(jv)));
    }

    private static String withoutSel(String line) {
        return line.replaceFirst(" sel [0-9a-f]{4}", "");
    }

    private static String reference(String name) {
        try {
            return Files.readString(Env.root().resolve("tests/reference/fwcfg").resolve(name));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void anyDifferenceFails() {
        String qemu = reference("default.txt");
        Map<String, String> q = items(qemu);
        checkFormat(q, qemu);
        String jvmm = qemu;
        assertEquals(List.of(), differences(q, items(jvmm)));

        Map<String, String> unnamed = new LinkedHashMap<>();
        unnamed.put("the DSDT", jvmm.replaceFirst("(acpi-table DSDT length \\d+ crc32) \\S+", "$1 00000000"));
        unnamed.put("a loader command's offset", jvmm.replaceFirst("(add-checksum etc/acpi/tables offset 0x)[0-9a-f]+",
                "$10"));
        unnamed.put("a table other than the DSDT and RSDT", jvmm.replaceFirst("(acpi-table FACP length 116 crc32) \\S+",
                "$1 00000000"));
        unnamed.put("the RSDT's length", jvmm.replaceFirst("acpi-table RSDT length \\d+", "acpi-table RSDT length 48"));
        unnamed.put("a small file", jvmm.replace("hex 800000818280", "hex 800000818200"));
        unnamed.put("a file QEMU has", jvmm.replaceFirst("fwcfg: file etc/tpm/log .*\n", ""));
        unnamed.put("the -kernel option ROM", jvmm.replaceFirst("fwcfg: file genroms/pvh.bin .*\n", ""));
        unnamed.put("the option ROM's bootorder entry", jvmm.replaceFirst("(file bootorder size )\\d+", "$10"));
        unnamed.put("a legacy key", jvmm.replaceFirst("(key 0003 bytes 32 hex )00", "$100ff"));
        unnamed.put("a -kernel key", jvmm.replaceFirst("(key 0008 bytes 32 hex )00", "$101"));
        unnamed.put("a file jvmm alone has", jvmm.replace("fwcfg: done", "fwcfg: file zz size 0 sel 002b crc32 00000000 hex \nfwcfg: done"));
        unnamed.put("the allocate commands", jvmm.replace("align 0x40 zone 1", "align 0x10 zone 1"));
        unnamed.put("the RSDP", jvmm.replace("424f43485320", "424f43485321"));
        unnamed.put("the guest's own lines", jvmm.replace("memory: 128 MiB", "memory: 127 MiB"));
        String lmce = "fwcfg: file etc/msr_feature_control size 8 sel 002a crc32 00000000 hex %s\n";
        Map<String, String> qemuLmce = items(qemu.replace("fwcfg: done", String.format(lmce, "0100100000000000")
                + "fwcfg: done"));
        assertEquals(List.of(), differences(qemuLmce, items(jvmm)), "LMCE alone is named");
        assertFalse(differences(qemuLmce, items(jvmm.replace("fwcfg: done", String.format(lmce, "0500100000000000")
                + "fwcfg: done"))).isEmpty(), "jvmm may not ask for LMCE");
        Map<String, String> qemuVmx = items(qemu.replace("fwcfg: done", String.format(lmce, "0500100000000000")
                + "fwcfg: done"));
        assertFalse(differences(qemuVmx, items(jvmm)).isEmpty(), "VMX is not LMCE");
        unnamed.forEach((what, text) -> {
            assertFalse(text.equals(jvmm), what + ": the edit did not apply");
            assertFalse(differences(q, items(text)).isEmpty(), what + " must not be tolerated");
        });
    }
}
