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
     * The real drivers: ImageOptions from the request's cache, locking and discard settings; snapshot=on opens
     * a temporary qcow2 overlay (the image itself is only read); blkdebug wraps the image in the error-injecting
     * filter, rules from the config file and then the -blockdev inject-error list.
     */
    BlockImageFactory DEFAULT = r -> {
        ImageOptions.LockMode lock = switch (r.locking() == null ? "auto" : r.locking()) {
            case "on" -> ImageOptions.LockMode.ON;
            case "off" -> ImageOptions.LockMode.OFF;
            case ImageOptions.FORCE_SHARE -> ImageOptions.LockMode.SHARED;
            default -> ImageOptions.LockMode.AUTO;
        };
        DriveCache cache = r.cache() == null ? DriveCache.WRITEBACK : r.cache();
        ImageOptions opts = new ImageOptions(r.readOnly(), cache.direct(), cache.noFlush(), lock, r.discardUnmap());
        BlockDriver image;
        if (r.snapshot()) {
            image = Qcow2Image.createTemporaryOverlay(r.path(), r.format(), opts);
        } else if (r.format() == null) {
            image = BlockDriver.open(r.path(), opts);
        } else {
            image = switch (r.format()) {
                case "qcow2" -> Qcow2Image.open(r.path(), opts);
                default -> RawImage.open(r.path(), opts);
            };
        }
        if (r.blkdebug() == null) {
            return image;
        }
        try {
            List<BlkdebugDriver.Rule> rules = new java.util.ArrayList<>();
            String config = r.blkdebug().configFile();
            if (config != null && !config.isEmpty()) {
                rules.addAll(BlkdebugDriver.readConfig(Path.of(config)));
            }
            for (Map<String, String> m : r.blkdebug().injectErrors()) {
                rules.add(blkdebugRule(m));
            }
            String filename = config != null && !config.isEmpty()
                    ? BlkdebugDriver.legacyFilename(config, r.path().toString()) : r.path().toString();
            return new BlkdebugDriver(image, rules, filename);
        } catch (IOException | RuntimeException e) {
            image.close();
            throw e;
        }
    };

    /** One -blockdev inject-error.N.* group as a blkdebug rule (QEMU's defaults: errno 5, any sector, always). */
    private static BlkdebugDriver.Rule blkdebugRule(Map<String, String> m) throws BlockException {
        try {
            String event = m.get("event");
            if (event == null) {
                throw new BlockException("Parameter 'event' is missing");
            }
            int errno = m.containsKey("errno") ? Integer.parseInt(m.get("errno")) : 5;
            long sector = m.containsKey("sector") ? Long.parseLong(m.get("sector")) : -1;
            boolean once = "on".equals(m.get("once")) || "true".equals(m.get("once"));
            boolean immediately = "on".equals(m.get("immediately")) || "true".equals(m.get("immediately"));
            java.util.Set<String> iotypes = m.containsKey("iotype") ? java.util.Set.of(m.get("iotype")) : null;
            return new BlkdebugDriver.Rule(event, errno, sector, once, immediately, iotypes);
        } catch (NumberFormatException e) {
            throw new BlockException("Parameter 'inject-error' expects a number: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new BlockException(e.getMessage());
        }
    }
}
