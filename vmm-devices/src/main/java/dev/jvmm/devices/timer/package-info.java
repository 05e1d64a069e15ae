/**
 * Platform timers on guest time: the HPET event timer block ({@link dev.jvmm.devices.timer.Hpet}) the pc
 * machine maps at 0xfed00000.
 */
package dev.jvmm.devices.timer;
