package dev.jvmm.cli;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.block.DriveOptions;
import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.event.EventBus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -hda..-hdd and -cdrom as QEMU 7.2's drive_add makes them (tests/reference/ide/errors-cli.txt, q-*.txt). */
class IdeDriveOptionsTest {
    @TempDir
    Path dir;

    static MachineConfig config(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return MachineConfigParser.parse(cl);
    }

    Path image(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return p;
    }

    /** Builds the drives as BlockDevices does, each error under its own option. */
    static List<Drive> build(BlockGraph g, MachineConfig c) {
        List<Drive> out = new ArrayList<>();
        for (DriveArg a : c.drives()) {
            try {
                out.add(g.addDrive(DriveOptions.parse(a.option(), a.text())));
            } catch (OptionException e) {
                throw e.option() == null ? new OptionException(a.option(), e.getMessage()) : e;
            }
        }
        return out;
    }

    static BlockGraph graph() {
        return new BlockGraph(new EventBus(), Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
    }

    @Test
    void shorthandsKeepCommandLineOrderWithDrive() {
        MachineConfig c = config("-hdb", "/b.img", "-drive", "if=none,id=x", "-cdrom", "/cd.iso", "-hda", "/a,b.img");
        assertEquals(List.of(new DriveArg("-hdb /b.img", "index=1,media=disk,file=/b.img"),
                new DriveArg("-drive if=none,id=x", "if=none,id=x"),
                new DriveArg("-cdrom /cd.iso", "index=2,media=cdrom,file=/cd.iso"),
                new DriveArg("-hda /a,b.img", "index=0,media=disk,file=/a,,b.img")), c.drives());
    }

    @Test
    void defaultNamesAsQemu() throws IOException {
        // q-hda-hdd-cdrom.txt: creation order, names from bus and unit
        Path hd = image("hd.img");
        Path hd2 = image("hd2.img");
        Path hd3 = image("hd3.img");
        Path cd = image("cd.iso");
        try (BlockGraph g = graph()) {
            List<Drive> d = build(g, config("-hda", hd.toString(), "-hdb", hd2.toString(), "-hdd", hd3.toString(),
                    "-cdrom", cd.toString()));
            assertEquals(List.of("ide0-hd0", "ide0-hd1", "ide1-hd1", "ide1-cd0"), d.stream().map(Drive::name).toList());
            assertTrue(d.get(3).readOnly());
            assertEquals(new BlockGraph.DriveLocation("ide", 1, 0, "cdrom"), g.location(d.get(3)));
        }
    }

    @Test
    void conflictsNameTheShorthand() throws IOException {
        Path hd = image("hd.img");
        Path cd = image("cd.iso");
        try (BlockGraph g = graph()) {
            OptionException e = assertThrows(OptionException.class, () -> build(g, config("-cdrom", cd.toString(),
                    "-hdc", hd.toString())));
            assertEquals("-hdc " + hd + ": drive with bus=1, unit=0 (index=2) exists", e.formatted());
        }
        try (BlockGraph g = graph()) {
            OptionException e = assertThrows(OptionException.class, () -> build(g, config("-cdrom", cd.toString(),
                    "-drive", "file=" + hd + ",if=ide,index=2")));
            assertEquals("-drive file=" + hd + ",if=ide,index=2: drive with bus=1, unit=0 (index=2) exists",
                    e.formatted());
        }
        try (BlockGraph g = graph()) {
            OptionException e = assertThrows(OptionException.class, () -> build(g, config("-cdrom",
                    dir.resolve("missing.iso").toString())));
            assertEquals("-cdrom " + dir.resolve("missing.iso") + ": Could not open '" + dir.resolve("missing.iso")
                    + "': No such file or directory", e.formatted());
        }
    }
}
