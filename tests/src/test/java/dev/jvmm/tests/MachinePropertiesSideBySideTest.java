package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * -machine pc properties under QEMU 7.2 and jvmm: what a guest finds at the legacy ports with the PIT or the
 * i8042 left out, where max-ram-below-4g splits RAM, and the error line for a bad property.
 */
class MachinePropertiesSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    static Stream<Arguments> guests() {
        return Stream.of(
                Arguments.of(TinyGuest.Format.PVH, "action=pit", new String[0]),
                Arguments.of(TinyGuest.Format.PVH, "action=pit", new String[] {"-machine", "pc,pit=off"}),
                Arguments.of(TinyGuest.Format.MULTIBOOT, "action=pit", new String[] {"-machine", "pc,pit=off"}),
                Arguments.of(TinyGuest.Format.PVH, "action=i8042", new String[] {"-machine", "pc,i8042=off"}),
                Arguments.of(TinyGuest.Format.BZIMAGE, "action=acpi",
                        new String[] {"-machine", "pc,i8042=off,hpet=off,pit=off,vmport=off,smm=off"}),
                // what libvirt puts on every command line: no \_S3, no \_S4 in the DSDT (no HPET: jvmm has none)
                Arguments.of(TinyGuest.Format.BZIMAGE, "action=acpi", new String[] {"-machine", "pc,hpet=off",
                        "-global", "PIIX4_PM.disable_s3=1", "-global", "PIIX4_PM.disable_s4=1",
                        "-global", "kvm-pit.lost_tick_policy=delay"}),
                // libvirt's serial port: a chardev and -device isa-serial (COM2 here, after -serial's COM1)
                Arguments.of(TinyGuest.Format.PVH, null, new String[] {"-chardev", "null,id=charserial1", "-device",
                        "isa-serial,chardev=charserial1,id=serial1"}),
                // The PIT-driven timer check finds no interrupt under both. (Not graphics=off: it makes QEMU's
                // SeaBIOS print its banner on the serial port, and jvmm runs no firmware.)
                Arguments.of(TinyGuest.Format.PVH, null, new String[] {"-machine", "pc,pit=off,mem-merge=off",
                        "-machine", "dump-guest-core=off,usb=off,sata=off,smbus=off"}));
    }

    @ParameterizedTest(name = "{0} \"{1}\" {2}")
    @MethodSource("guests")
    void guestSeesTheSameMachine(TinyGuest.Format f, String append, String[] extra) {
        Path qemu = Env.assumeQemu();
        String[] argv = TinyGuest.argv(Env.guest(f.file), append, extra);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(q.stdout(), j.stdout(), "serial output differs; jvmm stderr: " + j.stderr());
        assertEquals(q.status(), j.status(), "exit status differs; jvmm stderr: " + j.stderr());
    }

    /** SeaBIOS reserves pages that jvmm's e820 does not, so only high RAM and the total are compared. */
    @ParameterizedTest
    @ValueSource(strings = {"pc,max-ram-below-4g=64M", "pc,max-ram-below-4g=96M"})
    void maxRamBelow4gSplitsRamAsQemu(String machine) {
        Path qemu = Env.assumeQemu();
        String[] argv = TinyGuest.argv(Env.guest(TinyGuest.Format.BZIMAGE.file), "action=memmap", "-machine", machine);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(ramAbove4g(q.stdout()), ramAbove4g(j.stdout()), "jvmm stderr: " + j.stderr());
        assertEquals(List.of("e820: 0x0000000100000000 0x" + String.format("%016x", (128L - mib(machine)) << 20) + " 1"),
                ramAbove4g(j.stdout()).subList(1, 2));
        assertEquals(lastLine(q.stderr(), "qemu-system-x86_64: "), lastLine(j.stderr(), "jvmm: "));
        assertEquals(q.status(), j.status(), "jvmm stderr: " + j.stderr());
    }

    private static long mib(String machine) {
        return Long.parseLong(machine.replaceAll(".*=([0-9]+)M", "$1"));
    }

    private static List<String> ramAbove4g(String out) {
        return out.lines().filter(l -> l.startsWith("memory: ")
                || l.startsWith("e820: 0x00000001") && l.endsWith(" 1")).toList();
    }

    /** QEMU's and jvmm's start-up errors, without the program name. */
    @ParameterizedTest
    @ValueSource(strings = {"pc,foo=1", "pc,pit=foo", "pc,hpet=foo", "pc,i8042=2", "pc,max-ram-below-4g=5G",
            "pc,max-ram-below-4g=x", "pc,boot=foo", "pc,smm=on", "pc,memory-backend=m0", "pc,x-oem-id=1234567",
            "pc,bus-lock-ratelimit=x", "pc,smbios-entry-point-type=16", "pc,hpet", "pc,,", "pc,=x"})
    void sameErrorLine(String machine) {
        Path qemu = Env.assumeQemu();
        String[] argv = TinyGuest.argv(Env.guest(TinyGuest.Format.PVH.file), null, "-machine", machine);
        VmProcess.Result q = VmProcess.runQemu(qemu, TIMEOUT, argv);
        VmProcess.Result j = VmProcess.runJvmm(TIMEOUT, argv);
        assertEquals(1, q.status(), q.stderr());
        assertEquals(1, j.status(), j.stderr());
        assertEquals(1, j.stderr().lines().count(), j.stderr());
        assertEquals(lastLine(q.stderr(), "qemu-system-x86_64: "), lastLine(j.stderr(), "jvmm: "));
    }

    /** The last stderr line without its program prefix (QEMU warns about CPUID features first). */
    private static String lastLine(String stderr, String prefix) {
        List<String> lines = stderr.lines().filter(l -> !l.contains("host doesn't support requested feature"))
                .toList();
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        return last.startsWith(prefix) ? last.substring(prefix.length()) : last;
    }
}
