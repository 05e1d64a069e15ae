/**
 * Legacy PC (ISA) devices at fixed ports, checked register by register against QEMU 7.2 through its qtest
 * protocol (see QemuQtestComparisonTest). Wiring, for the machine:
 * <pre>
 * PioBus bus = ...; ResetRequest reset = ...; ExitRequest exit = ...;
 * Chardev com1 = factory.fromSerialOption("stdio", 0).orElse(null);
 * Uart16550 uart = new Uart16550(Uart16550.COM1_BASE, isaIrq(4), com1, timers); uart.attach(bus);
 * new I8042(reset, isaIrq(1), isaIrq(12)).attach(bus);
 * new Port92(reset).attach(bus);
 * new PostCodePort().attach(bus);
 * new IsaDebugExit(0xf4, 4, exit).attach(bus);          // only with -device isa-debug-exit
 * CmosRtc rtc = new CmosRtc(below4g, above4g, cpus, isaIrq(8)); rtc.attach(bus);
 * </pre>
 * Every device guards its own state; callbacks (reset, exit, chardev input-ready hooks) are invoked
 * without device locks held.
 */
package dev.jvmm.devices.isa;
