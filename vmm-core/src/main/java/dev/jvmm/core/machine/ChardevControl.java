package dev.jvmm.core.machine;

import java.util.List;

/** query-chardev's view of the machine's character devices (the QMP monitors add their own). */
@FunctionalInterface
public interface ChardevControl {
    List<ChardevInfo> list();
}
