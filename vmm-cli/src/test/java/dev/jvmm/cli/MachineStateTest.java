package dev.jvmm.cli;

import dev.jvmm.core.vmstate.MachineState;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.kvm.Kvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole machine's device state through one save and restore: every device of a full command line (the
 * board, IDE, virtio-blk/serial/balloon, watchdogs) is saved, restored into a second machine built from the
 * same command line, and saved again, byte for byte the same; a machine built differently refuses it.
 * Each device's own round trip with work in flight is tested next to the device, in vmm-devices.
 */
class MachineStateTest {
    /** The encoded "timer-ns" and "overflow-tick" u64 fields: tag, name length and name, value. */
    private static final int PM_TIMER_FIELDS = (1 + 2 + "timer-ns".length() + 8) + (1 + 2 + "overflow-tick".length() + 8);

    @TempDir
    static Path dir;

    @BeforeAll
    static void needsKvm() {
        assumeTrue(Files.isWritable(Path.of(Kvm.DEVICE)), "needs " + Kvm.DEVICE);
    }

    private static List<String> commandLine(String... extra) throws Exception {
        Path disk = dir.resolve("disk.img");
        if (!Files.exists(disk)) {
            Files.write(disk, new byte[1 << 20]);
            Files.write(dir.resolve("ide.img"), new byte[1 << 20]);
        }
        List<String> args = new ArrayList<>(List.of("-S", "-m", "64", "-serial", "null", "-rtc", "clock=vm",
                "-drive", "file=" + disk + ",format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,id=vblk",
                "-drive", "file=" + dir.resolve("ide.img") + ",format=raw,if=ide",
                "-chardev", "null,id=c0", "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=c0",
                "-device", "virtio-balloon-pci,id=bal", "-device", "i6300esb", "-device", "ib700",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-device", "piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2"));
        args.addAll(List.of(extra));
        return args;
    }

    private static PcMachine build(List<String> args) throws Exception {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args.toArray(String[]::new));
        MachineConfig c = MachineConfigParser.parse(cl);
        PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return new PcMachine(c, c.kernel().isPresent() ? Launcher.readKernel(c) : null, Kvm.open(Kvm.DEVICE),
                Launcher.actions(c), err);
    }

    @Test
    void everyDeviceRestoresIntoAFreshMachine() throws Exception {
        byte[] first;
        MachineState saved;
        try (PcMachine a = build(commandLine())) {
            saved = a.saveDeviceState();
            first = saved.toByteArray();
        }
        List<String> paths = saved.sections().stream().map(MachineState.Section::id).toList();
        for (String expected : List.of("/machine/peripheral/vblk", "/machine/peripheral/bal", "/machine/peripheral/usb",
                "/machine/i440fx/pci.0", "/machine/i440fx")) {
            assertTrue(paths.contains(expected), expected + " in " + saved.sections().stream()
                    .map(s -> s.id() + "=" + s.type()).toList());
        }
        assertTrue(saved.sections().stream().anyMatch(s -> s.type().equals("mc146818rtc")), paths.toString());
        assertTrue(saved.sections().stream().anyMatch(s -> s.type().equals("piix3-ide")), paths.toString());
        try (PcMachine b = build(commandLine())) {
            b.restoreDeviceState(MachineState.parse(first));
            List<MachineState.Section> again = b.saveDeviceState().sections();
            assertEquals(saved.sections().size(), again.size());
            for (int i = 0; i < again.size(); i++) {
                MachineState.Section x = saved.sections().get(i);
                MachineState.Section y = again.get(i);
                assertEquals(x.id() + " " + x.type(), y.id() + " " + y.type());
                if (x.type().equals("mc146818rtc")) {
                    // its timestamps are the rtc clock's readings, another instance's clock; its registers
                    // must come back
                    assertArrayEquals(rtcCmos(x), rtcCmos(y));
                } else if (x.type().equals("PIIX4_PM")) {
                    // the PM timer's two fields close the section and follow the host clock; the rest is equal
                    int timer = x.payload().length - PM_TIMER_FIELDS;
                    assertArrayEquals(java.util.Arrays.copyOf(x.payload(), timer),
                            java.util.Arrays.copyOf(y.payload(), timer), "PIIX4_PM registers");
                } else {
                    assertArrayEquals(x.payload(), y.payload(), x.id() + " (" + x.type() + ") differs");
                }
            }
        }
    }

    private static byte[] rtcCmos(MachineState.Section s) throws StateException {
        StateReader r = new StateReader(s.id(), s.payload());
        r.str("base");
        r.u64("base-epoch");
        r.str("clock");
        r.str("driftfix");
        return r.bytes("cmos");
    }

    @Test
    void aMachineBuiltDifferentlyRefusesTheState() throws Exception {
        MachineState saved;
        try (PcMachine a = build(commandLine())) {
            saved = a.saveDeviceState();
        }
        try (PcMachine extra = build(commandLine("-device", "i6300esb"))) {
            StateException e = assertThrows(StateException.class, () -> extra.restoreDeviceState(saved));
            assertTrue(e.getMessage().startsWith("no saved state for '/machine/peripheral-anon/"), e.getMessage());
            assertTrue(e.getMessage().endsWith("(i6300esb)"), e.getMessage());
        }
        List<String> smallerQueues = new ArrayList<>(commandLine());
        smallerQueues.set(smallerQueues.indexOf("virtio-blk-pci,drive=d0,id=vblk"),
                "virtio-blk-pci,drive=d0,id=vblk,queue-size=128");
        try (PcMachine other = build(smallerQueues)) {
            StateException e = assertThrows(StateException.class, () -> other.restoreDeviceState(saved));
            assertTrue(e.getMessage().contains("'/machine/peripheral/vblk'"), e.getMessage());
            assertTrue(e.getMessage().contains("configuration mismatch"), e.getMessage());
        }
    }

    @Test
    void aCorruptedStreamIsRefused() throws Exception {
        byte[] bytes;
        try (PcMachine a = build(commandLine())) {
            bytes = a.saveDeviceState().toByteArray();
        }
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 7);
        assertEquals("machine state is truncated",
                assertThrows(StateException.class, () -> MachineState.parse(truncated)).getMessage());
        bytes[0] ^= 1;
        byte[] badMagic = bytes;
        assertEquals("not a jvmm machine state (bad magic)",
                assertThrows(StateException.class, () -> MachineState.parse(badMagic)).getMessage());
    }
}
