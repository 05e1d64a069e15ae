package dev.jvmm.qmp;

import dev.jvmm.tests.BothHalves;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ACPI PCI hotplug on the pc machine (QEMU docs/specs/acpi_pci_hotplug.rst) side by side: the tiny guest
 * (action=pcihp, tests/guest/src/pcihp.c) acts as Linux's acpiphp on the PIIX4 registers, configuring what
 * comes up and ejecting (or refusing) what goes down, while the same QMP script runs under QEMU 7.2 and jvmm.
 * Serial output, QMP replies (query-pci without BAR addresses, which firmware and guest place) and the
 * events in order must be the same. One boot per scenario group:
 * <ul>
 * <li>plug and eject: virtio-blk-pci on a blockdev-add node, virtio-net-pci on a user netdev, i6300esb,
 * virtio-serial-pci and virtio-balloon-pci come up and work; QEMU's errors for a taken slot, types that are
 * not hotpluggable, bad addresses, a duplicate id and an unknown device_del id; device_dels the guest
 * ejects (DEVICE_DELETED for the virtio backend, then the device), one of them sent twice while the VM is
 * stopped (both accepted), an unknown id after an eject, and the drive plugged again; before all
 * that the guest pokes the registers (abuse=1: buses that do not exist, read-only registers, narrow accesses,
 * ejects of the host bridge's, PIIX3's and empty slots) and ejects a device given with -device (QEMU removes
 * a cold-plugged hotpluggable device on the guest's word alone, with DEVICE_DELETED);
 * <li>a guest that refuses, with acpi-pci-hotplug-with-bridge-support=off (the legacy PIIX4 interface, whose
 * up bitmap is not cleared by reading it): no event, the device stays, a repeated device_del is accepted
 * and notifies the guest again (QEMU 7.2 lets an ACPI unplug request be repeated at once, and sends no
 * DEVICE_UNPLUG_GUEST_ERROR for PCI);
 * <li>acpi-root-pci-hotplug=off: device_add to pci.0 refused with QEMU's text, no slot of the DSDT has
 * an eject method, and the removable bitmap reads all ones.
 * </ul>
 */
class PciHotplugSideBySideTest {
    @TempDir
    Path dir;

    private static final long STEP_MS = 60_000;
    /** In a script: a 1 MiB raw image of the VMM's own (the two run at once and each locks its image). */
    private static final String IMAGE = "@IMAGE@";

    /** Sends the QMP command, or with the prefix "serial:" waits for a serial line, "event:" for an event. */
    private static List<String> script(String... steps) {
        return List.of(steps);
    }

    private static String add(String args) {
        return "{\"execute\":\"device_add\",\"arguments\":{" + args + "}}";
    }

    private static String del(String id) {
        return "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + id + "\"}}";
    }

    /**
     * jvmm's virtio-*-pci devices are modern-only (no legacy I/O BAR, device IDs 0x1040 + type), as
     * disable-legacy=on gives under QEMU; QEMU's default on a conventional PCI bus is transitional.
     */
    private static final String VIRTIO = "\"disable-legacy\":\"on\",";
    /** jvmm's virtio-net-pci has no default option ROM (QEMU's efi-virtio.rom; see VirtioNetPci). */
    private static final String NO_ROM = "\"romfile\":\"\"";
    private static final String QUERY_PCI = "{\"execute\":\"query-pci\"}";
    private static final String QUIT = "{\"execute\":\"quit\"}";

    @Test
    void plugUseAndEjectAsQemu() throws Exception {
        List<String> steps = script(
                "serial:pcihp: ready", QUERY_PCI,
                "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":\"d0\","
                        + "\"file\":{\"driver\":\"file\",\"filename\":\"" + IMAGE + "\"}}}",
                add(VIRTIO + "\"driver\":\"virtio-blk-pci\",\"drive\":\"d0\",\"id\":\"blk0\",\"bus\":\"pci.0\",\"addr\":\"5\""),
                "serial:pcihp: slot 5 virtio",
                "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"user\",\"id\":\"n0\"}}",
                add(VIRTIO + "\"driver\":\"virtio-net-pci\",\"netdev\":\"n0\",\"id\":\"net0\",\"bus\":\"pci.0\",\"addr\":\"6\","
                        + "\"mac\":\"52:54:00:12:34:56\"," + NO_ROM),
                "serial:pcihp: slot 6 virtio",
                add("\"driver\":\"i6300esb\",\"id\":\"wd\",\"bus\":\"pci.0\",\"addr\":\"7\""),
                "serial:pcihp: slot 7 i6300esb",
                add(VIRTIO + "\"driver\":\"virtio-serial-pci\",\"id\":\"ser0\",\"bus\":\"pci.0\",\"addr\":\"8\""),
                "serial:pcihp: slot 8 virtio",
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"bal0\",\"bus\":\"pci.0\",\"addr\":\"9\""),
                "serial:pcihp: slot 9 virtio",
                // Errors: nothing reaches the guest.
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"bal1\",\"bus\":\"pci.0\",\"addr\":\"5\""),
                add("\"driver\":\"piix3-ide\",\"id\":\"ide9\",\"bus\":\"pci.0\",\"addr\":\"0xc\""),
                add("\"driver\":\"isa-serial\",\"id\":\"com9\""),
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"bal1\",\"bus\":\"pci.0\",\"addr\":\"0x20\""),
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"bal1\",\"bus\":\"pci.0\",\"addr\":\"zz\""),
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"blk0\",\"bus\":\"pci.0\",\"addr\":\"0xc\""),
                del("nope"),
                QUERY_PCI,
                del("blk0"), "event:DEVICE_DELETED:4", "serial:pcihp: slot 5 down",
                del("net0"), "event:DEVICE_DELETED:6", "serial:pcihp: slot 6 down",
                // Repeated while stopped: QEMU 7.2 accepts each (the request expires at once) and the guest
                // sees one down bit when it runs again.
                "{\"execute\":\"stop\"}", del("wd"), del("wd"), "{\"execute\":\"cont\"}",
                "event:DEVICE_DELETED:7", "serial:pcihp: slot 7 down",
                del("blk0"), QUERY_PCI,
                add(VIRTIO + "\"driver\":\"virtio-blk-pci\",\"drive\":\"d0\",\"id\":\"blk1\",\"bus\":\"pci.0\",\"addr\":\"0xa\""),
                "serial:pcihp: done");
        sameAsQemu("action=pcihp events=9 abuse=1",
                List.of("-device", "virtio-balloon-pci,disable-legacy=on,id=cold,addr=4"), steps, q -> assertTrue(q.serial().stream().anyMatch(
                l -> l.startsWith("pcihp: slot 10 virtio features") && l.contains(" capacity 2048 ")),
                "QEMU: the reused drive works in its new device: " + q.serial()));
    }

    @Test
    void refusingGuestKeepsTheDeviceAsQemu() throws Exception {
        List<String> steps = script(
                "serial:pcihp: ready",
                add(VIRTIO + "\"driver\":\"virtio-serial-pci\",\"id\":\"ser0\",\"bus\":\"pci.0\",\"addr\":\"5\""),
                "serial:pcihp: slot 5 virtio",
                del("ser0"), "serial:pcihp: slot 5 down, refusing",
                QUERY_PCI,
                del("ser0"), "serial:2:pcihp: slot 5 down, refusing",
                add(VIRTIO + "\"driver\":\"virtio-balloon-pci\",\"id\":\"bal0\",\"bus\":\"pci.0\",\"addr\":\"6\""),
                "serial:pcihp: done");
        sameAsQemu("action=pcihp events=5 mode=refuse",
                List.of("-global", "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off"), steps,
                q -> assertFalse(q.events().toString().contains("DEVICE_"), "QEMU sent a device event: " + q.events()));
    }

    @Test
    void rootHotplugOffAsQemu() throws Exception {
        List<String> steps = script(
                "serial:pcihp: ready",
                add(VIRTIO + "\"driver\":\"virtio-serial-pci\",\"id\":\"ser0\",\"bus\":\"pci.0\",\"addr\":\"5\""),
                add("\"driver\":\"i6300esb\",\"id\":\"wd\""),
                del("ser0"), QUERY_PCI, QUIT);
        sameAsQemu("action=pcihp events=1", List.of("-global", "PIIX4_PM.acpi-root-pci-hotplug=off"), steps,
                q -> assertTrue(q.serial().contains("pcihp: dsdt _EJ0 0 PCNT 2"), "QEMU's DSDT: " + q.serial()));
    }

    /** What one VMM did: serial lines, events (without timestamps) and replies in order, exit status. */
    record Transcript(List<String> serial, List<Object> events, List<Object> replies, int status, String stderr) {
    }

    /** Runs the script under both VMMs at once, checks QEMU's transcript, then jvmm's against it. */
    private void sameAsQemu(String append, List<String> extra, List<String> steps, Consumer<Transcript> qemuCheck)
            throws Exception {
        Path kernel = GuestVm.assumeReady();
        String jvmm = GuestVm.jvmm();
        List<String> args = new ArrayList<>(List.of("-machine", "pc"));
        args.addAll(extra);
        BothHalves.Results<Transcript, Transcript> r = BothHalves.run(
                () -> run(GuestVm.command(GuestVm.QEMU, kernel, append, args), dir.resolve("q.sock"),
                        withImage(steps, "q")),
                () -> run(GuestVm.command(jvmm, kernel, append, args), dir.resolve("j.sock"), withImage(steps, "j")));
        qemuCheck.accept(r.qemu());
        assertSame(r.qemu(), r.jvmm());
    }

    private List<String> withImage(List<String> steps, String half) throws Exception {
        Path img = dir.resolve(half + "-d0.img");
        Files.write(img, new byte[1 << 20]);
        return steps.stream().map(s -> s.replace(IMAGE, img.toString())).toList();
    }

    static Transcript run(List<String> command, Path sock, List<String> steps) throws Exception {
        try (GuestVm vm = GuestVm.start(command, sock)) {
            List<Object> sent = new ArrayList<>();
            vm.cont();
            for (String s : steps) {
                if (s.startsWith("serial:")) {
                    String text = s.substring("serial:".length());
                    int n = 1;
                    if (Character.isDigit(text.charAt(0)) && text.charAt(1) == ':') {
                        n = text.charAt(0) - '0';
                        text = text.substring(2);
                    }
                    assertTrue(vm.awaitSerial(text, n, STEP_MS), command.get(0) + ": no serial line '" + text
                            + "' (x" + n + "); serial " + vm.serial() + "; replies " + sent + "; stderr " + vm.stderrTail());
                } else if (s.startsWith("event:")) {
                    String[] p = s.split(":");
                    assertTrue(vm.awaitEvent(p[1], Integer.parseInt(p[2]), STEP_MS),
                            command.get(0) + ": no " + s + "; serial " + vm.serial() + "; replies " + sent + "; stderr "
                                    + vm.stderrTail());
                } else {
                    sent.add(vm.command(s));
                }
            }
            GuestVm.Result res = vm.finish(STEP_MS);
            List<Object> replies = res.replies().stream().map(PciHotplugSideBySideTest::withoutAddresses).toList();
            return new Transcript(res.serial(), List.copyOf(res.events()), replies, res.status(), res.stderr());
        }
    }

    /** query-pci's BAR addresses are where firmware (QEMU's SeaBIOS, jvmm itself) and the guest put them. */
    static Object withoutAddresses(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> {
                if (!k.equals("address")) {
                    out.put((String) k, withoutAddresses(v));
                }
            });
            return out;
        }
        if (o instanceof List<?> l) {
            return l.stream().map(PciHotplugSideBySideTest::withoutAddresses).toList();
        }
        return o;
    }

    private static void assertSame(Transcript q, Transcript j) {
        String info = "; jvmm stderr: " + j.stderr();
        assertEquals(String.join("\n", q.serial()), String.join("\n", j.serial()), "serial output" + info);
        for (int i = 0; i < Math.min(q.replies().size(), j.replies().size()); i++) {
            String d = GuestVm.firstDifference(q.replies().get(i), j.replies().get(i), "reply " + i);
            assertEquals(null, d, "QMP replies: " + d + info);
        }
        assertEquals(q.replies().size(), j.replies().size(), "number of QMP replies" + info);
        assertEquals(q.events(), j.events(), "events" + info);
        assertEquals(q.status(), j.status(), "exit status" + info);
    }
}
