/**
 * jvmm's QMP server. Wiring, for the launcher:
 * <pre>
 *   List&lt;QmpEndpoint&gt; eps = QmpEndpoint.fromCommandLine(qmpValues, chardevValues, monValues);
 *   QmpServer qmp = new QmpServer(machine, ioLoop);   // machine: its MachineControl handles
 *   for (QmpEndpoint ep : eps) qmp.listen(ep);          // wait=on blocks here until a client connects
 *   machine.lifecycle().start(!optionS);                // -S: stay in prelaunch
 * </pre>
 * Commands run on the machine's main loop ({@code MachineControl.mainLoop()}); sockets and event delivery
 * run on the shared Netty loop. New commands and events are declared once, in {@code QmpCommands} or its
 * subsystem groups ({@code QmpRunState}, {@code QmpMachine}, {@code QmpDevices}, {@code QmpBlock}, {@code QmpBalloon},
 * {@code QmpQom}).
 */
package dev.jvmm.qmp;
