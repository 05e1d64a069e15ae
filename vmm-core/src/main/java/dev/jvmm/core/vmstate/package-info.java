/**
 * Saveable device state: each device writes its guest-visible state as one versioned, self-describing
 * section ({@link StateWriter}) and reads it back strictly ({@link StateReader}); {@link MachineState} holds
 * the sections of a whole machine keyed by QOM path. This is the ground migration and snapshots build on.
 */
package dev.jvmm.core.vmstate;
