package dev.jvmm.core.machine;

import java.util.Optional;

/** A chardev HMP's chardev-add made: its id and, for a pty, the pty's path (QEMU prints both). */
public record ChardevAdded(String id, Optional<String> pty) {
}
