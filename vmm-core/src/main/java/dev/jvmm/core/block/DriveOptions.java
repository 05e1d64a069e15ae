package dev.jvmm.core.block;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One -drive option, checked with QEMU 7.2's messages and defaults (blockdev.c drive_new/blockdev_init).
 *
 * @param option     "-drive TEXT", the prefix of every error about it
 * @param id         id=, or null (the graph then names it as QEMU does: none0, virtio0, ...)
 * @param file       file=, or null for an empty drive
 * @param format     format=, or null to probe (raw or qcow2)
 * @param iface      if= (default "ide", as QEMU's pc machine; "none" and "virtio" are what jvmm wires)
 * @param index      index=, or -1
 * @param bus        bus=, or -1 (if=ide: 0 or 1 on the pc machine)
 * @param unit       unit=, or -1 (if=ide: 0 master, 1 slave)
 * @param media      "disk" or "cdrom" (cdrom makes the drive read-only whatever readonly= says, as QEMU does)
 * @param cache      cache= (default writeback), with cache.direct / cache.no-flush applied
 * @param aio        "threads", "native" or "io_uring"
 * @param readOnly   readonly= / read-only=
 * @param werror     werror= (default enospc)
 * @param rerror     rerror= (default report)
 * @param snapshot   snapshot=
 * @param discardUnmap discard=unmap/on (default ignore)
 * @param nodeName   node-name=, or null
 * @param locking    file.locking= ("auto", "on", "off"), or {@link ImageOptions#FORCE_SHARE} for force-share=on
 * @param formatOptions keys QEMU would hand to the format driver that jvmm does not know; the graph refuses
 *                   them naming the format, as QEMU does ("Block format 'raw' does not support the option 'x'")
 */
public record DriveOptions(String option, String id, String file, String format, String iface, int index,
        int bus, int unit, String media, DriveCache cache, String aio, boolean readOnly, BlockErrorPolicy werror,
        BlockErrorPolicy rerror, boolean snapshot, boolean discardUnmap, String nodeName, String locking,
        Map<String, String> formatOptions) {

    public DriveOptions {
        formatOptions = Map.copyOf(formatOptions);
    }

    /** QEMU's interface names (if=); jvmm's PC wires "none" and "virtio". */
    private static final java.util.Set<String> INTERFACES =
            java.util.Set.of("none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen");

    /** Parses the text after -drive. */
    public static DriveOptions parse(String text) {
        return parse("-drive " + text, text);
    }

    /**
     * Parses a drive's options; {@code option} is how errors name it ("-drive TEXT", or "-hda FILE" for the
     * -hda..-hdd and -cdrom shorthands, which QEMU turns into drives but reports under their own name).
     */
    public static DriveOptions parse(String option, String text) {
        QemuOpts o = QemuOpts.parse(option, text, null);
        Map<String, String> extra = new LinkedHashMap<>();
        String id = null;
        String file = null;
        String format = null;
        String iface = "ide";
        int index = -1;
        int bus = -1;
        int unit = -1;
        String media = "disk";
        String cacheMode = null;
        String aio = "threads";
        boolean readOnly = false;
        boolean forceShare = false;
        BlockErrorPolicy werror = BlockErrorPolicy.DEFAULT_WERROR;
        BlockErrorPolicy rerror = BlockErrorPolicy.DEFAULT_RERROR;
        boolean snapshot = false;
        boolean discardUnmap = false;
        String nodeName = null;
        String locking = "auto";
        Boolean direct = null;
        Boolean noFlush = null;
        for (Map.Entry<String, String> e : o.values().entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case "id" -> {
                    if (!wellFormedId(v)) {
                        // QEMU adds the hint on a second line.
                        throw new OptionException(option, "Parameter 'id' expects an identifier\n"
                                + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
                    }
                    id = v;
                }
                case "file" -> file = v;
                case "format" -> format = v;
                case "if" -> {
                    if (!INTERFACES.contains(v)) {
                        throw new OptionException(option, "unsupported bus type '" + v + "'");
                    }
                    iface = v;
                }
                case "index", "bus", "unit" -> {
                    long n = o.getNumber(k, -1);
                    if (n < 0 || n > Integer.MAX_VALUE) {
                        throw new OptionException(option, "Parameter '" + k + "' expects a number");
                    }
                    switch (k) {
                        case "index" -> index = (int) n;
                        case "bus" -> bus = (int) n;
                        default -> unit = (int) n;
                    }
                }
                case "media" -> {
                    if (!v.equals("disk") && !v.equals("cdrom")) {
                        throw new OptionException(option, "'" + v + "' invalid media");
                    }
                    media = v;
                }
                case "cache" -> {
                    if (DriveCache.parse(v) == null) {
                        throw new OptionException(option, "invalid cache option");
                    }
                    cacheMode = v;
                }
                case "cache.direct" -> direct = bool(option, k, v);
                case "cache.no-flush" -> noFlush = bool(option, k, v);
                case "aio" -> {
                    if (!v.equals("threads") && !v.equals("native") && !v.equals("io_uring")) {
                        throw new OptionException(option, "invalid aio option");
                    }
                    aio = v;
                }
                case "readonly", "read-only" -> readOnly = bool(option, "read-only", v);
                case "force-share" -> forceShare = bool(option, "force-share", v);
                case "werror" -> {
                    werror = BlockErrorPolicy.parseDriveOption(v, false);
                    if (werror == null) {
                        throw new OptionException(option, "'" + v + "' invalid write error action");
                    }
                }
                case "rerror" -> {
                    rerror = BlockErrorPolicy.parseDriveOption(v, true);
                    if (rerror == null) {
                        throw new OptionException(option, "'" + v + "' invalid read error action");
                    }
                }
                case "snapshot" -> snapshot = bool(option, "snapshot", v);
                case "discard" -> {
                    switch (v) {
                        case "ignore", "off" -> discardUnmap = false;
                        case "unmap", "on" -> discardUnmap = true;
                        default -> throw new OptionException(option, "Invalid discard option");
                    }
                }
                case "node-name" -> {
                    if (!wellFormedNodeName(v)) {
                        throw new OptionException(option, "Invalid node-name: '" + v + "'");
                    }
                    nodeName = v;
                }
                case "file.locking" -> {
                    if (!v.equals("auto") && !v.equals("on") && !v.equals("off")) {
                        throw new OptionException(option, "invalid parameter value: " + v);
                    }
                    locking = v;
                }
                case "detect-zeroes" -> {
                    if (!v.equals("off")) {
                        extra.put(k, v);
                    }
                }
                default -> extra.put(k, v);
            }
        }
        DriveCache cache = cacheMode == null ? DriveCache.WRITEBACK : DriveCache.parse(cacheMode);
        if (direct != null) {
            cache = new DriveCache(cache.writeback(), direct, cache.noFlush());
        }
        if (noFlush != null) {
            cache = new DriveCache(cache.writeback(), cache.direct(), noFlush);
        }
        if (aio.equals("native") && !cache.direct()) {
            throw new OptionException(option,
                    "aio=native was specified, but it requires cache.direct=on, which was not specified.");
        }
        if (index >= 0 && (bus >= 0 || unit >= 0)) {
            throw new OptionException(option, "index cannot be used with bus and unit");
        }
        if (media.equals("cdrom")) {
            readOnly = true;
        }
        if (forceShare) {
            if (!readOnly) {
                throw new OptionException(option, "force-share=on can only be used with read-only images");
            }
            // Internal value (file.locking= itself only takes auto/on/off): lock, but let others write.
            if (!locking.equals("off")) {
                locking = ImageOptions.FORCE_SHARE;
            }
        }
        if (format != null && !format.equals("raw") && !format.equals("qcow2")) {
            throw new OptionException(option, "Unknown driver '" + format + "'");
        }
        return new DriveOptions(option, id, file, format, iface, index, bus, unit, media, cache, aio, readOnly, werror, rerror,
                snapshot, discardUnmap, nodeName, locking, extra);
    }

    private static boolean bool(String option, String key, String v) {
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new OptionException(option, "Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
    public static boolean wellFormedId(String id) {
        if (id.isEmpty() || !isAsciiLetter(id.charAt(0))) {
            return false;
        }
        for (int i = 1; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!isAsciiLetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') {
                return false;
            }
        }
        return true;
    }

    /** Node names follow the id rules and are at most 31 characters (QEMU's node_name[32]). */
    public static boolean wellFormedNodeName(String name) {
        return name.length() < 32 && wellFormedId(name);
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
