/**
 * Watchdog timers: the Intel 6300ESB's PCI watchdog ({@link dev.jvmm.devices.watchdog.I6300Esb}) and the
 * IB700 ISA board's ({@link dev.jvmm.devices.watchdog.Ib700}), both counting guest time on a
 * {@link dev.jvmm.core.clock.VirtualClock} and reporting expiry to the machine, which emits WATCHDOG and
 * performs the -watchdog-action.
 */
package dev.jvmm.devices.watchdog;
