package dev.jvmm.kvm;

import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;
import dev.jvmm.core.memory.GuestMemory;
import dev.jvmm.kvm.boot.BootEntry;
import dev.jvmm.kvm.boot.BootGdt;
import dev.jvmm.kvm.boot.MemoryLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU hotplug's part of the vCPU set: a vCPU added while the set runs gets its thread and waits for INIT/SIPI;
 * a removed one loses its thread but keeps its fd, parked until the next plug of its index takes it back
 * (KVM cannot destroy a vCPU). Pausing never waits for a removed vCPU.
 */
class VcpuSetHotplugTest {
    private static final long CODE = 0x1000;
    private static final long WAIT_MS = 10_000;
    private Kvm kvm;
    private KvmVm vm;
    private GuestMemory mem;
    private VcpuSet set;

    @BeforeAll
    static void needKvm() {
        Assumptions.assumeTrue(Kvm.usable(), "/dev/kvm is missing or not usable; KVM tests skipped");
    }

    @AfterEach
    void tearDown() {
        if (set != null) {
            set.close();
        }
        if (vm != null) {
            vm.close();
        }
        if (mem != null) {
            mem.close();
        }
        if (kvm != null) {
            kvm.close();
        }
    }

    @Test
    void addedVcpuRunsAndRemovedOneIsParkedForReuse() throws Exception {
        kvm = Kvm.open();
        vm = kvm.createVm();
        mem = GuestMemory.allocate(new MemoryLayout(2 << 20).ramRanges());
        vm.registerMemory(mem);
        BootGdt.write(mem);
        mem.write(CODE, new byte[] {(byte) 0xEB, (byte) 0xFE}, 0, 2);
        CpuModel model = CpuModel.parse("host", kvm.supportedCpuid(), new CpuTopology(1, 2, 1));
        Vcpu bsp = vm.createVcpu(0, model);
        bsp.resetToEntry(new BootEntry(BootEntry.Format.MULTIBOOT, CODE, 0, 0, 0));
        set = new VcpuSet(List.of(bsp));
        set.start(new PioBus(), new MmioBus(), new KvmVmTest.Recorder(), false);

        Vcpu ap = vm.createVcpu(1, model);
        set.add(ap);
        awaitThread(ap);
        Thread first = ap.thread;
        assertEquals(List.of(bsp, ap), set.vcpus());
        assertEquals(KvmIoctls.KVM_MP_STATE_UNINITIALIZED, set.whilePaused(ap::mpState));

        set.remove(ap);
        assertEquals(List.of(bsp), set.vcpus());
        assertFalse(first.isAlive());
        assertEquals(-1, ap.threadId());
        set.pauseAll();
        set.resumeAll();
        assertNull(set.takeUnplugged(0));

        Vcpu again = set.takeUnplugged(1);
        assertSame(ap, again);
        assertNull(set.takeUnplugged(1));
        again.resetAsAp();
        set.add(again);
        awaitThread(again);
        assertTrue(again.thread != first);
        assertEquals(KvmIoctls.KVM_MP_STATE_UNINITIALIZED, set.whilePaused(again::mpState));
    }

    private static void awaitThread(Vcpu v) throws InterruptedException {
        long end = System.currentTimeMillis() + WAIT_MS;
        while (v.threadId() <= 0 && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
        assertTrue(v.threadId() > 0, "the added vCPU's thread did not start");
    }
}
