package dev.jvmm.core.block;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The one place the block graph opens an image, so the option model does not depend on how drivers are
 * built. Tests pass their own (in-memory images); the machine uses {@link #DEFAULT}.
 */
@FunctionalInterface
public interface BlockImageFactory {
    BlockDriver open(Request request) throws IOException;

    /**
     * What to open.
     *
     * @param format     "raw", "qcow2", or null to probe (qcow2 magic, else raw)
     * @param path       the host file
     * @param readOnly   read-only=on
     * @param cache      cache mode (direct = O_DIRECT, noFlush = drop flushes)
     * @param locking    file.locking: "auto", "on" or "off"
     * @param discardUnmap discard=unmap
     * @param snapshot   snapshot=on: writes go to a temporary overlay, the image is never written
     * @param blkdebug   an error-injecting filter between format and file, or null
     */
    record Request(String format, Path path, boolean readOnly, DriveCache cache, String locking,
            boolean discardUnmap, boolean snapshot, Blkdebug blkdebug) {
    }

    /**
     * blkdebug's options: a QEMU-syntax config file ("blkdebug:CONFIG:IMAGE" or config=) and/or
     * inject-error rules from -blockdev (inject-error.N.event, errno, sector, once, iotype, state, immediately),
     * each rule's keys as given.
     */
    record Blkdebug(String configFile, List<Map<String, String>> injectErrors) {
        public Blkdebug {
            injectErrors = List.copyOf(injectErrors);
        }
    }

    /**
     * TODO(integrator): switch to blockdrv's ImageOptions (readOnly/direct/noFlush/locking/discardUnmap), its
     * Qcow2Image.create overlay for snapshot=on and BlkdebugDriver for blkdebug; until then those two refuse.
     */
    BlockImageFactory DEFAULT = r -> {
        if (r.blkdebug() != null) {
            throw new BlockException("blkdebug is not available in this build");
        }
        if (r.snapshot()) {
            throw new BlockException("snapshot=on is not available in this build");
        }
        if (r.format() == null) {
            return BlockDriver.open(r.path(), r.readOnly());
        }
        return switch (r.format()) {
            case "qcow2" -> Qcow2Image.open(r.path(), r.readOnly());
            default -> RawImage.open(r.path(), r.readOnly());
        };
    };
}
