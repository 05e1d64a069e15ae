package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;
import dev.jvmm.core.objects.UserObjects;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One -fw_cfg option (QEMU 7.2 softmmu/vl.c parse_fw_cfg, options "fw_cfg" with implied key "name"): a named
 * fw_cfg file whose content comes from a host file or from the string itself (without its NUL).
 *
 * @param option  the option as written, for QEMU's error and warning prefix ("-fw_cfg TEXT")
 * @param name    the fw_cfg file name, at most 55 bytes
 * @param file    the host file with the content, or empty
 * @param string  the content as text, or empty
 * @param warning the warning QEMU prints for this option, or empty
 */
record FwCfgArg(String option, String name, Optional<String> file, Optional<String> string,
                Optional<String> warning) {
    /** QEMU's FW_CFG_MAX_FILE_PATH, NUL included. */
    static final int FW_CFG_MAX_FILE_PATH = 56;
    /** The interface QEMU's gen_id objects implement; none of jvmm's -object types does. */
    static final String TYPE_FW_CFG_DATA_GENERATOR_INTERFACE = "fw_cfg-data-generator";

    /** The content: the string's bytes, or the file read again now. */
    byte[] content() throws IOException {
        if (string.isPresent()) {
            return string.get().getBytes(StandardCharsets.UTF_8);
        }
        return Files.readAllBytes(Path.of(file.orElseThrow()));
    }

    /**
     * Every -fw_cfg value checked as QEMU checks it: unknown parameters, then name and exactly one non-empty
     * source, the name's length, gen_id (which no jvmm object can serve), the file's readability, and a
     * name given twice.
     */
    static List<FwCfgArg> parse(List<String> values, UserObjects objects) {
        List<QemuOpts> opts = new ArrayList<>();
        for (String v : values) {
            QemuOpts o = QemuOpts.parse("-fw_cfg " + v, v, "name");
            o.requireOnly("name", "file", "string", "gen_id");
            opts.add(o);
        }
        List<FwCfgArg> args = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (QemuOpts o : opts) {
            FwCfgArg a = check(o, objects);
            if (!names.add(a.name())) {
                throw new OptionException(o.option(), "duplicate fw_cfg file name: " + a.name());
            }
            args.add(a);
        }
        return List.copyOf(args);
    }

    private static FwCfgArg check(QemuOpts o, UserObjects objects) {
        Optional<String> name = nonEmpty(o, "name");
        Optional<String> file = nonEmpty(o, "file");
        Optional<String> string = nonEmpty(o, "string");
        Optional<String> genId = nonEmpty(o, "gen_id");
        int sources = (file.isPresent() ? 1 : 0) + (string.isPresent() ? 1 : 0) + (genId.isPresent() ? 1 : 0);
        if (name.isEmpty() || sources != 1) {
            throw new OptionException(o.option(), "name, plus exactly one of file, string and gen_id, are needed");
        }
        if (name.get().getBytes(StandardCharsets.UTF_8).length > FW_CFG_MAX_FILE_PATH - 1) {
            throw new OptionException(o.option(), "name too long (max. " + (FW_CFG_MAX_FILE_PATH - 1) + " char)");
        }
        if (genId.isPresent()) {
            String id = genId.get();
            throw new OptionException(o.option(), objects.has(id)
                    ? "Object ID '" + id + "' is not a '" + TYPE_FW_CFG_DATA_GENERATOR_INTERFACE + "' subclass"
                    : "Cannot find object ID '" + id + "'");
        }
        Optional<String> warning = name.get().startsWith("opt/") ? Optional.empty()
                : Optional.of(o.option() + ": warning: externally provided fw_cfg item names should be prefixed"
                        + " with \"opt/\"");
        file.ifPresent(f -> checkReadable(o.option(), f));
        return new FwCfgArg(o.option(), name.get(), file, string, warning);
    }

    private static Optional<String> nonEmpty(QemuOpts o, String key) {
        return o.get(key).filter(v -> !v.isEmpty());
    }

    /** g_file_get_contents's failure, in GLib's words. */
    private static void checkReadable(String option, String file) {
        Path p = Path.of(file);
        String reason;
        if (Files.isDirectory(p)) {
            reason = "Error reading file \u201c" + file + "\u201d: Is a directory";
        } else {
            try (var in = Files.newInputStream(p)) {
                return;
            } catch (NoSuchFileException e) {
                reason = "Failed to open file \u201c" + file + "\u201d: No such file or directory";
            } catch (AccessDeniedException e) {
                reason = "Failed to open file \u201c" + file + "\u201d: Permission denied";
            } catch (IOException e) {
                reason = "Failed to open file \u201c" + file + "\u201d: " + e.getMessage();
            }
        }
        throw new OptionException(option, "can't load " + file + ": " + reason);
    }
}
