package dev.jvmm.libvirt;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libvirt 9.0's capability probe run by a private libvirtd against jvmm: virsh domcapabilities and virsh
 * capabilities succeed and describe only what jvmm has, and the capability flags libvirt caches for jvmm are
 * exactly the reviewed list (resources libvirt/jvmm-caps-flags.txt), each backed by a working feature.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LibvirtProbeTest {
    private Path dir;
    private Path jvmm;
    private Path shims;
    private PrivateLibvirtd libvirtd;
    private Virsh virsh;

    @BeforeAll
    void start() throws Exception {
        String why = PrivateLibvirtd.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        Path kvm = Path.of("/dev/kvm");
        Assumptions.assumeTrue(Files.isReadable(kvm) && Files.isWritable(kvm),
                "/dev/kvm is missing or not accessible: the probe needs KVM");
        jvmm = Path.of(System.getProperty("jvmm.launcher", "../bin/jvmm")).toAbsolutePath().normalize();
        dir = Files.createTempDirectory("libvirt-probe");
        // libvirt finds its emulators by name on PATH: a qemu-system-x86_64 that is jvmm
        shims = Files.createDirectories(dir.resolve("bin"));
        Files.createSymbolicLink(shims.resolve("qemu-system-x86_64"), jvmm);
        libvirtd = PrivateLibvirtd.start(dir.resolve("libvirt"), List.of(shims));
        virsh = new Virsh(libvirtd.uri());
    }

    @AfterAll
    void stop() throws Exception {
        if (libvirtd != null) {
            libvirtd.close();
        }
    }

    @Test
    void domcapabilitiesListOnlyWhatJvmmHas() {
        String caps = virsh.run(120, "domcapabilities", "--emulatorbin", jvmm.toString(), "--machine", "pc").ok();
        assertTrue(caps.contains("<path>" + jvmm + "</path>"), caps);
        assertTrue(caps.contains("<domain>kvm</domain>"), caps);
        assertTrue(caps.contains("<machine>pc-i440fx-7.2</machine>"), caps);
        assertTrue(caps.contains("<mode name='host-passthrough' supported='yes'>"), caps);
        assertTrue(caps.contains("<mode name='host-model' supported='yes'>"), caps);
        assertTrue(caps.contains("<model usable='yes' vendor='unknown'>qemu64</model>")
                || caps.contains("<model usable='no' vendor='unknown'>qemu64</model>"), caps);
        // no display, no graphics card, no TPM, no USB redirection, no SEV/SGX, no RNG device
        assertTrue(caps.contains("<graphics supported='yes'>\n      <enum name='type'/>"), caps);
        assertFalse(caps.contains("<value>vnc</value>") || caps.contains("<value>spice</value>"), caps);
        assertTrue(caps.contains("<enum name='modelType'>\n        <value>none</value>\n      </enum>"), caps);
        assertTrue(caps.contains("<tpm supported='no'/>"), caps);
        assertTrue(caps.contains("<redirdev supported='no'/>"), caps);
        assertTrue(caps.contains("<sev supported='no'/>"), caps);
        assertTrue(caps.contains("<sgx supported='no'/>"), caps);
        assertTrue(caps.contains("<rng supported='yes'>\n      <enum name='model'/>"), caps);
        assertTrue(caps.contains("<value>memfd</value>"), caps);
    }

    @Test
    void capabilitiesFindJvmmAsQemuSystemX86_64() {
        String caps = virsh.run(120, "capabilities").ok();
        int at = caps.indexOf("<emulator>" + shims.resolve("qemu-system-x86_64") + "</emulator>");
        assertTrue(at > 0, caps);
        String guest = caps.substring(at, caps.indexOf("</guest>", at));
        assertTrue(guest.contains("<machine maxCpus='255'>pc-i440fx-7.2</machine>"), guest);
        assertTrue(guest.contains("<machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>"), guest);
        assertTrue(guest.contains("<domain type='kvm'/>"), guest);
        // no TCG: libvirt offers no plain emulation domain, and "none" is no machine a domain can use
        assertFalse(guest.contains("<domain type='qemu'"), guest);
        assertFalse(guest.contains(">none</machine>"), guest);
    }

    @Test
    void cachedCapabilityFlagsAreTheReviewedOnes() throws IOException {
        virsh.run(120, "domcapabilities", "--emulatorbin", jvmm.toString()).ok();
        Path cache = libvirtd.dir().resolve("cache/qemu/capabilities");
        String xml = null;
        try (Stream<Path> s = Files.list(cache)) {
            for (Path f : s.toList()) {
                String text = Files.readString(f);
                if (text.contains("<emulator>" + jvmm + "</emulator>")) {
                    xml = text;
                }
            }
        }
        assertTrue(xml != null, "no capability cache for " + jvmm + " in " + cache);
        TreeSet<String> flags = new TreeSet<>();
        Matcher m = Pattern.compile("<flag name='([^']+)'/>").matcher(xml);
        while (m.find()) {
            flags.add(m.group(1));
        }
        assertEquals(expectedFlags(), flags);
    }

    private static TreeSet<String> expectedFlags() throws IOException {
        try (InputStream in = LibvirtProbeTest.class.getResourceAsStream("/libvirt/jvmm-caps-flags.txt")) {
            List<String> out = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                String l = line.strip();
                if (!l.isEmpty() && !l.startsWith("#")) {
                    out.add(l.split("\\s+")[0]);
                }
            }
            return new TreeSet<>(out);
        }
    }
}
