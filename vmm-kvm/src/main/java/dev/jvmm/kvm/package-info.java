/**
 * KVM back end: {@link dev.jvmm.kvm.Kvm} (/dev/kvm), {@link dev.jvmm.kvm.KvmVm} (a pc-style VM with
 * in-kernel PIC/IOAPIC/PIT, which is also the machine's {@link dev.jvmm.core.irq.InterruptController}),
 * {@link dev.jvmm.kvm.Vcpu} and {@link dev.jvmm.kvm.VcpuSet} (vCPU threads, pause/resume), and
 * {@link dev.jvmm.kvm.CpuModel} (-cpu: QEMU 7.2 models, features and properties, and -smp topology). Kernel loaders live in
 * {@code dev.jvmm.kvm.boot}.
 *
 * <pre>{@code
 * Kvm kvm = Kvm.open();                                     // KvmException: one-line message
 * KvmVm vm = kvm.createVm();
 * MemoryLayout layout = new MemoryLayout(ramBytes);
 * GuestMemory mem = GuestMemory.allocate(layout.ramRanges());
 * vm.registerMemory(mem);
 * BootEntry entry = KernelLoader.load(mem, layout, kernelPath, append, initrdPathOrNull);
 * CpuTopology topo = new CpuTopology(sockets, cores, threads);
 * CpuModel model = CpuModel.parse("qemu64,+x2apic", kvm.hostCpu(), topo);
 * List<Vcpu> cpus = new ArrayList<>();
 * for (int i = 0; i < topo.cpus(); i++) {
 *     Vcpu v = vm.createVcpu(i, model);
 *     if (i == 0) v.resetToEntry(entry); else v.resetAsAp();
 *     cpus.add(v);
 * }
 * VcpuSet set = new VcpuSet(cpus);
 * set.start(pioBus, mmioBus, exitHandler, startPaused);    // threads "vcpu-0".."vcpu-N"
 * set.pauseAll(); ... set.resumeAll();
 *  // reset: pauseAll(); vm.resetInterruptState(); reload the kernel (KernelLoader.load again);
 * //        cpus.get(0).resetToEntry(entry); the others resetAsAp(); resumeAll()
 * set.close(); vm.close(); mem.close(); kvm.close();
 * }</pre>
 */
package dev.jvmm.kvm;
