/**
 * The machine control API that QMP commands call ({@link dev.jvmm.core.machine.MachineControl}: one handle per
 * subsystem, such as {@link dev.jvmm.core.machine.MachineInfo} and {@link dev.jvmm.core.machine.QomControl}) and the
 * run-state policy shared by every machine ({@link dev.jvmm.core.machine.LifecycleController}), which drives
 * a machine's vCPUs through {@link dev.jvmm.core.machine.VcpuControl}.
 */
package dev.jvmm.core.machine;
