package dev.jvmm.core.machine;

import java.util.Optional;

/** The machine's QOM composition tree as qom-list, qom-get and qom-set reach it. */
@FunctionalInterface
public interface QomControl {
    /** A machine that models no QOM objects. */
    QomControl NONE = path -> Optional.empty();

    /** The object at path (absolute, or a partial path QEMU would resolve uniquely), if this machine models it. */
    Optional<QomObject> resolve(String path);
}
