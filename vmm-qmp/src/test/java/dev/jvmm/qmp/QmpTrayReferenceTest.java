package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
import dev.jvmm.core.block.Qcow2Image;
import dev.jvmm.core.block.RemovableMediaDevice;
import dev.jvmm.core.loop.IoLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The removable-media conversations of tests/reference/ide/*.txt replayed over a real QMP socket against a
 * fake machine built with the same options: every reply and every DEVICE_TRAY_MOVED, in order, as QEMU 7.2
 * sent them. Timestamps, auto node-names ("#blockNNN"), "actual-size" and the image directory are normalised
 * on both sides; the CD-ROM is a fake tray that behaves as QEMU's ATAPI change_media_cb does.
 */
class QmpTrayReferenceTest {
    static final Path REF = Path.of("..", "tests", "reference", "ide");
    static final String REF_DIR = "/tmp/refide";

    @TempDir
    Path dir;
    IoLoop loop;
    FakeMachine machine;
    QmpServer server;
    BlockGraph graph;

    /** QEMU's ide-cd tray: load closes it, eject (load false) opens it; the guest never locks it under -S. */
    static final class Tray implements RemovableMediaDevice {
        volatile boolean open;

        @Override
        public void changeMedia(boolean load) {
            open = !load;
        }

        @Override
        public boolean isTrayOpen() {
            return open;
        }

        @Override
        public boolean isMediumLocked() {
            return false;
        }

        @Override
        public void ejectRequest(boolean force) {
        }
    }

    @BeforeEach
    void start() throws Exception {
        loop = new IoLoop();
        machine = new FakeMachine();
        graph = new BlockGraph(machine.events(), machine.mainLoop(), machine.lifecycle()::requestIoErrorStop,
                BlockImageFactory.DEFAULT);
        machine.blockGraph = graph;
        raw("cd.iso", 1 << 20);
        raw("cd2.iso", 2 << 20);
        raw("other.iso", 1 << 20);
        raw("hd.img", 4 << 20);
        raw("hd.img2", 1 << 20);
        Qcow2Image.create(dir.resolve("hd.qcow2"), 8 << 20, null, null);
        server = new QmpServer(machine, loop);
        server.listenUnix(dir.resolve("qmp.sock"), false);
    }

    @AfterEach
    void stop() {
        server.close();
        machine.lifecycle().close();
        loop.close();
        graph.close();
    }

    void raw(String name, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(name).toFile(), "rw")) {
            f.setLength(size);
        }
    }

    String f(String name) {
        return dir.resolve(name).toString();
    }

    // ---- building the captured machines ----

    /** -cdrom FILE (or -hda..), the default IDE device at the given QOM path. */
    Drive shorthand(String option, String text, String path, boolean cdrom) {
        Drive d = graph.addDrive(DriveOptions.parse(option, text));
        graph.attachAuto(d, path, path, cdrom ? new Tray() : null);
        return d;
    }

    Drive cdromOption(String path) {
        return shorthand("-cdrom " + f("cd.iso"), "index=2,media=cdrom,file=" + f("cd.iso"), path, true);
    }

    /** -drive ... + -device ide-cd/ide-hd,drive=D[,id=ID]. */
    void device(String drive, String id, String anonPath, boolean cd) {
        String path = id != null ? "/machine/peripheral/" + id : anonPath;
        graph.attach(drive, id != null ? id : anonPath, path, cd ? new Tray() : null,
                cd ? "ide-cd.drive" : "ide-hd.drive");
    }

    static final String U19 = "/machine/unattached/device[19]";

    // ---- replay ----

    String normalise(String s) {
        return s.replace(dir.toString(), REF_DIR)
                .replaceAll("\"timestamp\": \\{\"seconds\": \\d+, \"microseconds\": \\d+\\}", "\"timestamp\": {}")
                .replaceAll("\"#block\\d+\"", "\"#block\"")
                .replaceAll("\"actual-size\": \\d+, ", "")
                .replaceAll(", \"actual-size\": \\d+", "");
    }

    /** Sends every command of the transcript and compares what comes back, events included, line by line. */
    void replay(String file) throws IOException {
        replay(file, null);
    }

    /** Replays up to (not including) the first command line starting with {@code stopAt}. */
    void replay(String file, String stopAt) throws IOException {
        List<String> lines = Files.readAllLines(REF.resolve(file));
        int commands = 0;
        try (QmpClient c = QmpClient.negotiated(dir.resolve("qmp.sock"))) {
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (stopAt != null && l.startsWith(stopAt)) {
                    break;
                }
                if (!l.startsWith("-> ")) {
                    continue;
                }
                List<String> expected = new ArrayList<>();
                for (int j = i + 1; j < lines.size() && lines.get(j).startsWith("<- "); j++) {
                    expected.add(normalise(lines.get(j).substring(3)));
                }
                String cmd = l.substring(3).replace(REF_DIR, dir.toString());
                List<String> got = new ArrayList<>();
                for (Map<String, Object> m : c.exchange(cmd)) {
                    got.add(normalise(Json.toString(m)));
                }
                assertEquals(String.join("\n", expected), String.join("\n", got), file + ": " + l);
                commands++;
            }
        }
        assertTrue(commands > 0, file + " has commands");
    }

    // ---- query-block for each form ----

    @Test
    void cdromOption() throws IOException {
        cdromOption(U19);
        replay("q-cdrom.txt");
    }

    @Test
    void driveCdromIndex2() throws IOException {
        shorthand("-drive x", "file=" + f("cd.iso") + ",media=cdrom,if=ide,index=2", U19, true);
        replay("q-drive-cdrom-index2.txt");
    }

    @Test
    void ideCdEmptyAndWithMedium() throws IOException {
        graph.addDrive("if=none,id=cd0,media=cdrom");
        device("cd0", "cdrom0", null, true);
        replay("q-device-idecd-empty.txt");
    }

    @Test
    void ideCdWithMedium() throws IOException {
        graph.addDrive("if=none,id=cd0,media=cdrom,file=" + f("cd.iso"));
        device("cd0", "cdrom0", null, true);
        replay("q-device-idecd-medium.txt");
    }

    @Test
    void ideCdWithoutDrive() throws IOException {
        graph.attach(null, "cdrom0", "/machine/peripheral/cdrom0", new Tray(), "ide-cd.drive");
        replay("q-device-idecd-nodrive.txt");
    }

    @Test
    void hda() throws IOException {
        shorthand("-hda x", "index=0,media=disk,file=" + f("hd.img"), U19, false);
        replay("q-hda.txt");
    }

    @Test
    void hdaHdbHddCdrom() throws IOException {
        Drive a = graph.addDrive(DriveOptions.parse("-hda", "index=0,media=disk,file=" + f("hd.img")));
        Drive b = graph.addDrive(DriveOptions.parse("-hdb", "index=1,media=disk,file=" + f("hd.qcow2")));
        Drive d = graph.addDrive(DriveOptions.parse("-hdd", "index=3,media=disk,file=" + f("hd.img2")));
        Drive c = graph.addDrive(DriveOptions.parse("-cdrom", "index=2,media=cdrom,file=" + f("cd.iso")));
        // the machine makes the devices in bus/unit order, so their QOM numbers follow that order
        graph.attachAuto(a, U19, U19, null);
        graph.attachAuto(b, "/machine/unattached/device[20]", "/machine/unattached/device[20]", null);
        graph.attachAuto(c, "/machine/unattached/device[21]", "/machine/unattached/device[21]", new Tray());
        graph.attachAuto(d, "/machine/unattached/device[22]", "/machine/unattached/device[22]", null);
        replay("q-hda-hdd-cdrom.txt");
    }

    @Test
    void driveIdeIndex1AndBusUnit() throws IOException {
        shorthand("-drive x", "file=" + f("hd.img") + ",if=ide,index=1", U19, false);
        replay("q-drive-ide-index1.txt");
    }

    @Test
    void driveIdeBusUnit() throws IOException {
        shorthand("-drive x", "file=" + f("hd.img") + ",if=ide,bus=1,unit=1", U19, false);
        replay("q-drive-ide-busunit.txt");
    }

    @Test
    void driveIdeWithoutIndex() throws IOException {
        shorthand("-drive x", "file=" + f("hd.img") + ",if=ide", U19, false);
        shorthand("-drive y", "file=" + f("cd.iso") + ",if=ide,media=cdrom", "/machine/unattached/device[20]", true);
        shorthand("-drive z", "file=" + f("hd.qcow2") + ",if=ide,format=qcow2", "/machine/unattached/device[21]",
                false);
        replay("q-drive-ide-noindex.txt");
    }

    @Test
    void ideHdDevice() throws IOException {
        graph.addDrive("if=none,id=d0,file=" + f("hd.img") + ",format=raw");
        device("d0", null, "/machine/peripheral-anon/device[0]", false);
        replay("q-device-idehd.txt");
    }

    @Test
    void ideHdDeviceWithId() throws IOException {
        graph.addDrive("if=none,id=d0,file=" + f("hd.img") + ",format=raw");
        device("d0", "disk1", null, false);
        replay("q-device-idehd-id.txt");
    }

    @Test
    void cdromReadonlyOff() throws IOException {
        shorthand("-drive x", "file=" + f("cd.iso") + ",if=ide,media=cdrom,readonly=off", U19, true);
        replay("q-drive-cdrom-readonly-off.txt");
    }

    @Test
    void virtioCdrom() throws IOException {
        Drive d = graph.addDrive("file=" + f("cd.iso") + ",if=virtio,media=cdrom");
        graph.attachAuto(d, "/machine/peripheral-anon/device[0]/virtio-backend");
        replay("q-drive-virtio-cdrom.txt");
    }

    // ---- tray conversations ----

    /** A tray the guest locked (no QEMU capture can lock it under -S: behaviour from block/qapi-sysemu.c). */
    static final class LockedTray implements RemovableMediaDevice {
        volatile boolean open;
        volatile boolean locked = true;
        final List<Boolean> requests = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void changeMedia(boolean load) {
            open = !load;
        }

        @Override
        public boolean isTrayOpen() {
            return open;
        }

        @Override
        public boolean isMediumLocked() {
            return locked;
        }

        @Override
        public void ejectRequest(boolean force) {
            requests.add(force);
            if (force) {
                locked = false;
            }
        }
    }

    @Test
    void lockedTrayOverQmp() throws Exception {
        LockedTray t = new LockedTray();
        Drive d = graph.addDrive(DriveOptions.parse("-cdrom", "index=2,media=cdrom,file=" + f("cd.iso")));
        graph.attachAuto(d, U19, U19, t);
        try (QmpClient c = QmpClient.negotiated(dir.resolve("qmp.sock"))) {
            assertTrue(Json.toString(c.command("{\"execute\": \"query-block\"}")).startsWith(
                    "{\"return\": [{\"io-status\": \"ok\", \"device\": \"ide1-cd0\", \"locked\": true,"));
            List<Map<String, Object>> r = c.exchange("{\"execute\": \"eject\", \"arguments\": {\"device\": \"ide1-cd0\"}}");
            assertEquals(1, r.size(), "no DEVICE_TRAY_MOVED before the guest moves the tray");
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'ide1-cd0' is locked and force"
                    + " was not specified, wait for tray to open and try again\"}}", Json.toString(r.get(0)));
            r = c.exchange("{\"execute\": \"blockdev-open-tray\", \"arguments\": {\"id\": \"" + U19 + "\"}}");
            assertEquals(List.of("{\"return\": {}}"), r.stream().map(Json::toString).toList());
            assertEquals(List.of(false, false), t.requests);
            // the guest unlocks and ejects (PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT): the device reports it
            t.locked = false;
            t.open = true;
            d.guestTrayMoved(true);
            assertEquals(normalise("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\":"
                    + " \"DEVICE_TRAY_MOVED\", \"data\": {\"device\": \"ide1-cd0\", \"tray-open\": true, \"id\": \"" + U19
                    + "\"}}"), normalise(Json.toString(c.read(2000))));
            r = c.exchange("{\"execute\": \"eject\", \"arguments\": {\"device\": \"ide1-cd0\"}}");
            assertEquals(List.of("{\"return\": {}}"), r.stream().map(Json::toString).toList());
            assertTrue(!d.hasMedium());
            // a forced change-medium on a locked, closed tray: request with force, then open and close
            c.exchange("{\"execute\": \"blockdev-close-tray\", \"arguments\": {\"device\": \"ide1-cd0\"}}");
            t.locked = true;
            r = c.exchange("{\"execute\": \"blockdev-change-medium\", \"arguments\": {\"device\": \"ide1-cd0\","
                    + " \"filename\": \"" + f("cd2.iso") + "\", \"force\": true}}");
            assertEquals(3, r.size(), "tray-open true, tray-open false, return");
            assertEquals(true, t.requests.get(t.requests.size() - 1));
            assertEquals(2 << 20, d.size());
        }
    }

    @Test
    void trayOnCdromOption() throws IOException {
        cdromOption(U19);
        replay("tray-cdrom.txt");
    }

    @Test
    void trayOnIdeCdDevice() throws IOException {
        graph.addDrive("if=none,id=cd0,media=cdrom");
        device("cd0", "cdrom0", null, true);
        replay("tray-idecd.txt");
    }

    @Test
    void errors() throws IOException {
        graph.addDrive("if=none,id=cd0,media=cdrom,file=" + f("cd.iso"));
        device("cd0", "cdrom0", null, true);
        graph.addDrive("if=none,id=d0,file=" + f("hd.img") + ",format=raw");
        device("d0", "disk1", null, false);
        graph.addDrive("if=none,id=lone,file=" + f("hd.qcow2") + ",format=qcow2");
        shorthand("-hda x", "index=0,media=disk,file=" + f("hd.img2"), U19, false);
        replay("errors-qmp.txt");
    }

    @Test
    void idsAndNodes() throws IOException {
        cdromOption(U19);
        graph.setDeviceExists(p -> p.equals("/machine/peripheral/dbg"));
        graph.addDrive("if=none,id=d0,file=" + f("hd.img") + ",format=raw");
        device("d0", "disk1", null, false);
        graph.addDrive("if=none,id=lone,file=" + f("hd.img2") + ",format=raw");
        graph.attach(null, "cdrom9", "/machine/peripheral/cdrom9", new Tray(), "ide-cd.drive");
        replay("ids-and-nodes.txt");
    }
}
