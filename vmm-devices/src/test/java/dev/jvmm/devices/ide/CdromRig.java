package dev.jvmm.devices.ide;

import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockImageFactory;
import dev.jvmm.core.block.Drive;
import dev.jvmm.core.event.EventBus;
import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.machine.MachineCommandException;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CD-ROM on the secondary master of an {@link IdeGuest}, attached to a drive of a real {@link BlockGraph} as
 * the machine wires it: the QMP medium commands run in the graph, which asks the device's tray, and the
 * DEVICE_TRAY_MOVED events come off the machine's event bus.
 */
final class CdromRig implements AutoCloseable {
    /** The device id (-device ide-cd,id=mycd): QMP's id= and the event's "id". */
    static final String ID = "mycd";
    static final String QOM_PATH = "/machine/peripheral/" + ID;

    final IdeGuest g = new IdeGuest();
    final EventBus bus = new EventBus();
    /** DEVICE_TRAY_MOVED events as "DEVICE_TRAY_MOVED tray-open=B", until {@link #events()} takes them. */
    private final List<String> events = new ArrayList<>();
    final BlockGraph graph;
    final Drive drive;
    final AtapiCdrom cd;

    /**
     * @param driveOptions the -drive text of the CD-ROM's drive (if=none, id=cd0), with or without a file
     * @param blockdevs    -blockdev texts of nodes to insert later
     */
    CdromRig(String driveOptions, String... blockdevs) {
        bus.subscribe((e, t) -> {
            if (e instanceof VmEvent.DeviceTrayMoved m) {
                synchronized (events) {
                    events.add("DEVICE_TRAY_MOVED tray-open=" + m.trayOpen());
                }
            }
        });
        graph = new BlockGraph(bus, Runnable::run, () -> { }, BlockImageFactory.DEFAULT);
        for (String b : blockdevs) {
            graph.addBlockdev(b);
        }
        Drive d = graph.addDrive(driveOptions);
        cd = new AtapiCdrom(d, "QM00003");
        drive = graph.attach(d.name(), ID, QOM_PATH, cd, "ide-cd.drive");
        g.ide.bus(1).attach(0, cd);
    }

    /** Tray events since the last call. */
    List<String> events() {
        synchronized (events) {
            List<String> l = new ArrayList<>(events);
            events.clear();
            return l;
        }
    }

    /**
     * Runs a medium command as PcMachine does (by id), returning "ok" or "error: " + QEMU's message.
     *
     * @param node blockdev-insert-medium's node-name
     */
    String host(String cmd, boolean force, String node) {
        try {
            switch (cmd) {
                case "eject" -> graph.eject(null, ID, force);
                case "blockdev-open-tray" -> graph.openTray(null, ID, force);
                case "blockdev-close-tray" -> graph.closeTray(null, ID);
                case "blockdev-remove-medium" -> graph.removeMedium(null, ID);
                case "blockdev-insert-medium" -> graph.insertMedium(ID, node);
                default -> throw new IllegalArgumentException(cmd);
            }
            return "ok";
        } catch (MachineCommandException e) {
            return "error: " + e.getMessage();
        }
    }

    /** A file of whole 2048-byte sectors, each starting with its number and a seed-dependent pattern. */
    static void image(Path p, int sectors, int seed) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            byte[] b = new byte[2048];
            for (int s = 0; s < sectors; s++) {
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) (seed + s * 3 + i);
                }
                b[0] = (byte) s;
                b[1] = (byte) (s >> 8);
                f.write(b);
            }
        }
    }

    @Override
    public void close() {
        g.close();
        graph.close();
    }
}
