package dev.jvmm.kvm;

import dev.jvmm.core.io.IoHandler;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Runs tiny 32-bit guests on real KVM; skipped where /dev/kvm is not usable. */
class KvmVmTest {
    private static final long CODE = 0x1000;
    private static final long HOTPLUG_WAIT_MS = 10_000;

    private Kvm kvm;
    private KvmVm vm;
    private GuestMemory mem;
    private VcpuSet set;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();

    @BeforeAll
    static void needKvm() {
        Assumptions.assumeTrue(Kvm.usable(), "/dev/kvm is missing or not usable; KVM tests skipped");
    }

    /** Builds a 2 MiB VM with one vCPU at CODE in flat 32-bit protected mode running code. */
    private Vcpu boot(byte[] code) {
        kvm = Kvm.open();
        vm = kvm.createVm();
        MemoryLayout layout = new MemoryLayout(2 << 20);
        mem = GuestMemory.allocate(layout.ramRanges());
        vm.registerMemory(mem);
        BootGdt.write(mem);
        mem.write(CODE, code, 0, code.length);
        CpuModel model = CpuModel.parse("host", kvm.supportedCpuid(), CpuTopology.single());
        Vcpu v = vm.createVcpu(0, model);
        v.resetToEntry(new BootEntry(BootEntry.Format.MULTIBOOT, CODE, 0, 0, 0));
        set = new VcpuSet(List.of(v));
        return v;
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

    /** Records handler calls. */
    static class Recorder implements VcpuExitHandler {
        final CountDownLatch fatal = new CountDownLatch(1);
        final AtomicReference<String> what = new AtomicReference<>();
        final AtomicInteger suberror = new AtomicInteger(-100);

        @Override
        public void onTripleFault(Vcpu cpu) {
            what.set("triple-fault");
            fatal.countDown();
        }

        @Override
        public void onInternalError(Vcpu cpu, int sub, long[] data) {
            what.set("internal-error");
            suberror.set(sub);
            fatal.countDown();
        }

        @Override
        public void onFailEntry(Vcpu cpu, long reason) {
            what.set("fail-entry");
            fatal.countDown();
        }

        @Override
        public void onSystemEvent(Vcpu cpu, int type, long[] data) {
            what.set("system-event " + type);
            fatal.countDown();
        }
    }

    private static IoHandler writes(ConcurrentLinkedQueue<String> log, String name) {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0x5a;
            }

            @Override
            public void write(long offset, int size, long value) {
                log.add(String.format("%s+%d/%d=%x", name, offset, size, value));
            }
        };
    }

    private static IoHandler latch(CountDownLatch l) {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                l.countDown();
            }
        };
    }

    @Test
    void openErrorsReadLikeQemu() {
        KvmException e = assertThrows(KvmException.class, () -> Kvm.open("/nonexistent/kvm"));
        assertEquals("Could not access KVM kernel module: No such file or directory", e.getMessage());
    }

    @Test
    void portIoReachesPioBus() throws Exception {
        byte[] code = {
            0x66, (byte) 0xBA, 0x10, 0x00,                 // mov dx, 0x10
            (byte) 0xB0, 0x11, (byte) 0xEE,                // mov al, 0x11; out dx, al
            (byte) 0xB0, 0x22, (byte) 0xEE,                // mov al, 0x22; out dx, al
            (byte) 0xB8, 0x78, 0x56, 0x34, 0x12, (byte) 0xEF, // mov eax, 0x12345678; out dx, eax
            0x66, (byte) 0xB8, (byte) 0xEF, (byte) 0xBE,   // mov ax, 0xbeef
            0x66, (byte) 0xE7, 0x12,                       // out 0x12, ax
            (byte) 0xE4, 0x14,                             // in al, 0x14 (reads 0x5a)
            (byte) 0xE6, 0x15,                             // out 0x15, al
            (byte) 0xBE, 0x00, 0x30, 0x00, 0x00,           // mov esi, 0x3000
            (byte) 0xB9, 0x03, 0x00, 0x00, 0x00,           // mov ecx, 3
            0x66, (byte) 0xBA, 0x16, 0x00,                 // mov dx, 0x16
            (byte) 0xF3, 0x6E,                             // rep outsb
            (byte) 0xE6, 0x50,                             // out 0x50, al (done; 0x20 is the in-kernel PIC)
            (byte) 0xEB, (byte) 0xFE,                      // jmp $
        };
        Vcpu v = boot(code);
        mem.write(0x3000, new byte[] {'a', 'b', 'c'}, 0, 3);
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        CountDownLatch done = new CountDownLatch(1);
        pio.register(0x10, 7, writes(log, "p"));
        pio.register(0x50, 1, latch(done));
        Recorder rec = new Recorder();
        set.start(pio, mmio, rec, false);
        boolean finished = done.await(10, TimeUnit.SECONDS);
        if (!finished) {
            set.pauseAll();
            fail("guest did not finish; " + rec.what.get() + " " + log + "\n" + v.dumpRegisters());
        }
        assertEquals(List.of("p+0/1=11", "p+0/1=22", "p+0/4=12345678", "p+2/2=beef", "p+5/1=5a",
                "p+6/1=61", "p+6/1=62", "p+6/1=63"), List.copyOf(log));
        assertTrue(v.threadId() > 0);
        set.pauseAll();
        String dump = v.dumpRegisters();
        assertTrue(dump.contains("CS =0010 00000000 ffffffff 00c09b00"), dump);
        assertTrue(dump.startsWith("EAX="), dump);
    }

    @Test
    void mmioReachesMmioBus() throws Exception {
        byte[] code = {
            (byte) 0xB8, (byte) 0xBE, (byte) 0xBA, (byte) 0xFE, (byte) 0xCA, // mov eax, 0xcafebabe
            (byte) 0xA3, 0x00, 0x00, 0x00, (byte) 0xD0,                      // mov [0xd0000000], eax
            (byte) 0xA1, 0x04, 0x00, 0x00, (byte) 0xD0,                      // mov eax, [0xd0000004]
            (byte) 0xE7, 0x10,                                               // out 0x10, eax
            (byte) 0xEB, (byte) 0xFE,
        };
        boot(code);
        AtomicLong written = new AtomicLong();
        AtomicLong seen = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        mmio.register(0xd0000000L, 0x1000, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return offset == 4 && size == 4 ? 0x1234abcdL : 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                written.set(offset << 40 | (long) size << 32 | value);
            }
        });
        pio.register(0x10, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                seen.set(value);
                done.countDown();
            }
        });
        Recorder rec = new Recorder();
        set.start(pio, mmio, rec, false);
        assertTrue(done.await(10, TimeUnit.SECONDS), "guest did not finish; " + rec.what.get());
        assertEquals(4L << 32 | 0xcafebabeL, written.get());
        assertEquals(0x1234abcdL, seen.get());
    }

    @Test
    void pauseAndResumeASpinningGuest() throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xEB, (byte) 0xFE}); // jmp $
        set.start(pio, mmio, new Recorder(), false);
        Thread.sleep(100);
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            set.pauseAll();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 1000, "pause took " + ms + " ms");
            assertTrue(set.isPaused());
            assertEquals(CODE, v.getRegs().rip());
            set.resumeAll();
            Thread.sleep(50);
        }
        assertEquals("vcpu-0", v.thread.getName());
    }

    @Test
    void startPausedThenResumeAndPauseFromVcpuThread() throws Exception {
        byte[] code = {
            (byte) 0xE6, 0x30,        // out 0x30, al  -> device asks to stop the VM from the vCPU thread
            (byte) 0xE6, 0x31,        // out 0x31, al  -> after resume
            (byte) 0xEB, (byte) 0xFE,
        };
        boot(code);
        CountDownLatch stopped = new CountDownLatch(1);
        CountDownLatch after = new CountDownLatch(1);
        pio.register(0x30, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                set.pauseAll(); // must not wait for its own vCPU
                stopped.countDown();
            }
        });
        pio.register(0x31, 1, latch(after));
        set.start(pio, mmio, new Recorder(), true);
        assertFalse(stopped.await(200, TimeUnit.MILLISECONDS), "-S guest ran before resume");
        set.resumeAll();
        assertTrue(stopped.await(5, TimeUnit.SECONDS));
        set.pauseAll(); // waits for the vCPU to park
        assertFalse(after.await(200, TimeUnit.MILLISECONDS), "guest kept running after a vCPU-thread pause");
        set.resumeAll();
        assertTrue(after.await(5, TimeUnit.SECONDS));
    }

    @Test
    void smpPauseKicksApsWaitingForSipi() throws Exception {
        boot(new byte[] {(byte) 0xEB, (byte) 0xFE});
        set.close();
        CpuModel model = CpuModel.parse("host", kvm.supportedCpuid(), new CpuTopology(1, 2, 1));
        Vcpu bsp = vm.createVcpu(1, model);
        Vcpu ap = vm.createVcpu(2, model);
        bsp.resetToEntry(new BootEntry(BootEntry.Format.MULTIBOOT, CODE, 0, 0, 0));
        ap.resetAsAp();
        assertEquals(KvmIoctls.KVM_MP_STATE_UNINITIALIZED, ap.mpState());
        set = new VcpuSet(List.of(bsp, ap));
        set.start(pio, mmio, new Recorder(), false);
        Thread.sleep(100);
        long t0 = System.nanoTime();
        set.pauseAll();
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L);
        assertTrue(ap.threadId() > 0 && ap.threadId() != bsp.threadId());
        assertEquals("vcpu-2", ap.thread.getName());
        set.resumeAll();
    }

    @Test
    void deviceExceptionDoesNotKillTheVcpu() throws Exception {
        byte[] code = {(byte) 0xE6, (byte) 0x90, (byte) 0xE6, (byte) 0x91, (byte) 0xEB, (byte) 0xFE}; // 0x61 is the in-kernel PIT speaker port
        boot(code);
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<RuntimeException> err = new AtomicReference<>();
        pio.register(0x90, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                throw new IllegalStateException("boom");
            }
        });
        pio.register(0x91, 1, latch(done));
        set.start(pio, mmio, new Recorder() {
            @Override
            public void onDeviceError(Vcpu cpu, RuntimeException e) {
                err.set(e);
            }
        }, false);
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals("boom", err.get().getMessage());
    }

    @Test
    void resetBspToEntryRunsTheGuestAgain() throws Exception {
        byte[] code = {(byte) 0xE6, 0x62, (byte) 0xEB, (byte) 0xFE};
        Vcpu v = boot(code);
        AtomicInteger hits = new AtomicInteger();
        pio.register(0x62, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                hits.incrementAndGet();
            }
        });
        set.start(pio, mmio, new Recorder(), false);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (hits.get() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        set.pauseAll();
        v.resetToEntry(new BootEntry(BootEntry.Format.MULTIBOOT, CODE, 0, 0, 0));
        set.resumeAll();
        while (hits.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(2, hits.get());
    }

    @Test
    void pausedRegistersIncludeTheLastPortRead() throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xE4, (byte) 0x95, (byte) 0xEB, (byte) 0xFE}); // in al, 0x95; jmp $
        CountDownLatch asked = new CountDownLatch(1);
        pio.register(0x95, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                set.pauseAll(); // e.g. a device stopping the VM on this access
                asked.countDown();
                return 0x5a;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        });
        set.start(pio, mmio, new Recorder(), false);
        assertTrue(asked.await(5, TimeUnit.SECONDS));
        set.pauseAll();
        Regs r = v.getRegs();
        assertEquals(0x5a, r.rax() & 0xff);
        assertEquals(CODE + 2, r.rip());
    }

    @Test
    void int3IsAnInternalErrorUnderPvm() throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xCC, (byte) 0xEB, (byte) 0xFE});
        AtomicReference<String> report = new AtomicReference<>();
        Recorder rec = new Recorder() {
            @Override
            public void onInternalError(Vcpu cpu, int sub, long[] data) {
                report.set(cpu.internalErrorReport(sub, data, mem));
                super.onInternalError(cpu, sub, data);
            }
        };
        set.start(pio, mmio, rec, false);
        assertTrue(rec.fatal.await(10, TimeUnit.SECONDS), "no fatal exit");
        // PVM cannot emulate int3 (internal error, suberror 1); hardware KVM with an empty IDT triple-faults.
        if ("internal-error".equals(rec.what.get())) {
            assertEquals(1, rec.suberror.get());
            String r = report.get();
            System.out.print(r);
            assertTrue(r.startsWith("KVM internal error. Suberror: 1\nextra data[0]: 0x"), r);
            assertTrue(r.contains("emulation failure\nEAX="), r);
            assertTrue(r.contains("EIP=00001000 "), r);
            assertTrue(r.contains("\nDR6="), r);
            assertTrue(r.contains(" 00 00 <cc> eb fe 00"), r);
        } else {
            assertEquals("triple-fault", rec.what.get());
        }
        System.out.println("int3 exit: " + rec.what.get() + " suberror " + rec.suberror.get());
        set.pauseAll(); // the vCPU parked itself after the fatal exit
        assertTrue(v.dumpRegisters().contains("EIP="));
    }

    @Test
    void handlerCanResetAndResumeSynchronously() throws Exception {
        boot(new byte[] {(byte) 0xCC, (byte) 0xEB, (byte) 0xFE});
        mem.write(0x2000, new byte[] {(byte) 0xE6, (byte) 0x92, (byte) 0xEB, (byte) 0xFE}, 0, 4);
        CountDownLatch rebooted = new CountDownLatch(1);
        pio.register(0x92, 1, latch(rebooted));
        BootEntry second = new BootEntry(BootEntry.Format.MULTIBOOT, 0x2000, 0, 0, 0);
        set.start(pio, mmio, new Recorder() {
            private void reset(Vcpu cpu) {
                set.pauseAll();
                cpu.resetToEntry(second);
                set.resumeAll();
            }

            @Override
            public void onInternalError(Vcpu cpu, int sub, long[] data) {
                reset(cpu);
            }

            @Override
            public void onTripleFault(Vcpu cpu) {
                reset(cpu);
            }
        }, false);
        assertTrue(rebooted.await(5, TimeUnit.SECONDS), "vCPU did not run after an in-handler reset");
    }

    @Test
    void multibootKernelStartsWithMagicInEaxAndMbiInEbx() throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xF4});
        byte[] img = new byte[0x400];
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(img).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bb.putInt(0x40, 0x1BADB002).putInt(0x44, 0x10000).putInt(0x48, -(0x1BADB002 + 0x10000));
        bb.putInt(0x4c, 0x100040).putInt(0x50, 0x100000).putInt(0x54, 0).putInt(0x58, 0).putInt(0x5c, 0x100080);
        byte[] code = {(byte) 0xE7, (byte) 0x93, (byte) 0x89, (byte) 0xD8, (byte) 0xE7, (byte) 0x94, (byte) 0xEB, (byte) 0xFE};
        System.arraycopy(code, 0, img, 0x80, code.length);
        BootEntry entry = dev.jvmm.kvm.boot.KernelLoader.load(mem, new MemoryLayout(2 << 20),
                new dev.jvmm.kvm.boot.KernelLoader.Request("mb.elf", img, "hello", null, null));
        v.resetToEntry(entry);
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        CountDownLatch done = new CountDownLatch(1);
        pio.register(0x93, 1, writes(log, "magic"));
        pio.register(0x94, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                log.add(String.format("mbi=%x", value));
                done.countDown();
            }
        });
        set.start(pio, mmio, new Recorder(), false);
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(List.of("magic+0/4=2badb002", "mbi=9500"), List.copyOf(log)); // QEMU 7.2's ADDR_MBI
    }

    /** Bytes allocated so far by the calling thread (HotSpot's per-thread counter). */
    private static long allocated() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        return mx.getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    @Test
    void deviceCanResetTheVmFromItsOwnExit() throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xE6, (byte) 0x96, (byte) 0xEB, (byte) 0xFE}); // like i8042 0xfe
        mem.write(0x2000, new byte[] {(byte) 0xE4, (byte) 0x97, (byte) 0xE6, (byte) 0x98, (byte) 0xEB, (byte) 0xFE}, 0, 6);
        BootEntry second = new BootEntry(BootEntry.Format.MULTIBOOT, 0x2000, 0, 0, 0);
        CountDownLatch done = new CountDownLatch(1);
        AtomicLong echoed = new AtomicLong(-1);
        pio.register(0x96, 3, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0x33;
            }

            @Override
            public void write(long offset, int size, long value) {
                if (offset == 0) {
                    set.pauseAll();
                    v.resetToEntry(second);
                    set.resumeAll();
                } else {
                    echoed.set(value);
                    done.countDown();
                }
            }
        });
        set.start(pio, mmio, new Recorder(), false);
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(0x33, echoed.get());
    }

    /** Loads image with KernelLoader, runs it, and returns what the guest wrote to port 0x99 (two values). */
    private List<Long> runLoaded(byte[] image) throws Exception {
        Vcpu v = boot(new byte[] {(byte) 0xF4});
        BootEntry entry = dev.jvmm.kvm.boot.KernelLoader.load(mem, new MemoryLayout(2 << 20),
                new dev.jvmm.kvm.boot.KernelLoader.Request("k", image, "console=ttyS0", null, null));
        v.resetToEntry(entry);
        ConcurrentLinkedQueue<Long> seen = new ConcurrentLinkedQueue<>();
        CountDownLatch two = new CountDownLatch(2);
        pio.register(0x99, 1, new IoHandler() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                seen.add(value);
                two.countDown();
            }
        });
        set.start(pio, mmio, new Recorder(), false);
        assertTrue(two.await(5, TimeUnit.SECONDS), "guest wrote " + seen);
        return List.copyOf(seen);
    }

    @Test
    void bzImageKernelSeesBootParamsInEsi() throws Exception {
        byte[] img = dev.jvmm.kvm.boot.TestImages.bzImage(0x020f, 512, 1);
        byte[] code = {
            (byte) 0x89, (byte) 0xF0, (byte) 0xE7, (byte) 0x99,                    // mov eax, esi; out 0x99, eax
            (byte) 0x8B, (byte) 0x86, 0x28, 0x02, 0x00, 0x00, (byte) 0xE7, (byte) 0x99, // mov eax, [esi+0x228]; out
            (byte) 0xEB, (byte) 0xFE,
        };
        System.arraycopy(code, 0, img, 5 * 512, code.length);
        assertEquals(List.of(0x7000L, 0x20000L), runLoaded(img));
    }

    @Test
    void pvhKernelSeesStartInfoInEbx() throws Exception {
        byte[] code = {
            (byte) 0x89, (byte) 0xD8, (byte) 0xE7, (byte) 0x99, // mov eax, ebx; out 0x99, eax
            (byte) 0x8B, 0x03, (byte) 0xE7, (byte) 0x99,       // mov eax, [ebx]; out 0x99, eax
            (byte) 0xEB, (byte) 0xFE,
        };
        byte[] img = dev.jvmm.kvm.boot.TestImages.elf(false, 0x100000, 0x100000, code, 0, 0x100000L, 0);
        assertEquals(List.of(0x6000L, 0x336ec578L), runLoaded(img));
    }

    @Test
    void pioExitPathAllocatesNothing() throws Exception {
        int n = 100_000;
        byte[] code = {
            (byte) 0xB9, (byte) (n & 0xff), (byte) ((n >> 8) & 0xff), (byte) (n >> 16), 0, // mov ecx, n
            (byte) 0xE6, (byte) 0x80,  // l: out 0x80, al
            (byte) 0xE2, (byte) 0xFC,  // loop l
            (byte) 0xE6, (byte) 0x81,  // out 0x81, al
            (byte) 0xEB, (byte) 0xFE,
        };
        boot(code);
        AllocationProbe probe = new AllocationProbe(n, () -> { });
        CountDownLatch done = new CountDownLatch(1);
        pio.register(0x80, 1, probe);
        pio.register(0x81, 1, latch(done));
        set.start(pio, mmio, new Recorder(), false);
        assertTrue(done.await(60, TimeUnit.SECONDS), "guest did not finish");
        long ns = System.nanoTime() - probe.firstAt;
        assertEquals(n, probe.count.get());
        System.out.printf("PIO exit cost: %.2f us/exit over %d exits%n", ns / 1000.0 / (n - 1000), n - 1000);
        System.out.printf("vCPU thread allocated %d bytes over %d exits%n", probe.bytes(), n - 1000);
        assertTrue(probe.bytes() < n - 1000, "exit path allocates: " + probe.bytes() + " bytes");
    }

    /**
     * Counts writes and reads the writing thread's allocation counter at the 1000th (after JIT warm-up) and
     * at the nth; each write first runs action.
     */
    private static final class AllocationProbe implements IoHandler {
        final int n;
        final Runnable action;
        final AtomicInteger count = new AtomicInteger();
        volatile long firstAt;
        volatile long allocAt1000;
        volatile long allocAtEnd;

        AllocationProbe(int n, Runnable action) {
            this.n = n;
            this.action = action;
        }

        long bytes() {
            return allocAtEnd - allocAt1000;
        }

        @Override
        public long read(long offset, int size) {
            return 0;
        }

        @Override
        public void write(long offset, int size, long value) {
            action.run();
            int c = count.incrementAndGet();
            if (c == 1000) {
                firstAt = System.nanoTime();
                allocAt1000 = allocated();
            } else if (c == n) {
                allocAtEnd = allocated();
            }
        }
    }

    /**
     * As {@link #pioExitPathAllocatesNothing} for MMIO exits: each round is a write to an unassigned address
     * and one to a handler that signals an eventfd, as a virtio notify without ioeventfd does.
     */
    @Test
    void mmioExitPathAllocatesNothing() throws Exception {
        int n = 50_000;
        byte[] code = {
            (byte) 0xB9, (byte) (n & 0xff), (byte) ((n >> 8) & 0xff), (byte) (n >> 16), 0, // mov ecx, n
            (byte) 0xA3, 0x00, 0x00, 0x10, (byte) 0xD0, // l: mov [0xd0100000], eax (unassigned)
            (byte) 0xA3, 0x00, 0x00, 0x00, (byte) 0xD0, // mov [0xd0000000], eax
            (byte) 0xE2, (byte) 0xF4,                   // loop l
            (byte) 0xE6, (byte) 0x81,                   // out 0x81, al
            (byte) 0xEB, (byte) 0xFE,
        };
        boot(code);
        CountDownLatch done = new CountDownLatch(1);
        long bytes;
        try (dev.jvmm.core.os.EventFd kick = new dev.jvmm.core.os.EventFd()) {
            AllocationProbe probe = new AllocationProbe(n, kick::signal);
            mmio.register(0xd0000000L, 0x1000, probe);
            pio.register(0x81, 1, latch(done));
            set.start(pio, mmio, new Recorder(), false);
            assertTrue(done.await(60, TimeUnit.SECONDS), "guest did not finish");
            assertEquals(n, probe.count.get());
            assertEquals(n, kick.drain());
            bytes = probe.bytes();
        }
        System.out.printf("vCPU thread allocated %d bytes over %d MMIO exits%n", bytes, 2 * (n - 1000));
        assertTrue(bytes < n - 1000, "MMIO exit path allocates: " + bytes + " bytes");
    }

    @Test
    void ioeventfdSignalsWithoutAnExitAndOtherValuesStillExit() throws Exception {
        byte[] code = {
            0x66, (byte) 0xB8, 0x03, 0x00,                   // mov ax, 3
            0x66, (byte) 0xA3, 0x00, 0x00, 0x00, (byte) 0xD0, // mov [0xd0000000], ax (ioeventfd, datamatch 3)
            0x66, (byte) 0xB8, 0x05, 0x00,                   // mov ax, 5
            0x66, (byte) 0xA3, 0x00, 0x00, 0x00, (byte) 0xD0, // mov [0xd0000000], ax (no match: exits)
            (byte) 0xE6, 0x10,                               // out 0x10, al
            (byte) 0xEB, (byte) 0xFE,
        };
        boot(code);
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        CountDownLatch done = new CountDownLatch(1);
        mmio.register(0xd0000000L, 0x1000, writes(log, "m"));
        pio.register(0x10, 1, latch(done));
        try (dev.jvmm.core.os.EventFd kick = new dev.jvmm.core.os.EventFd()) {
            assertTrue(vm.register(0xd0000000L, 2, false, 3, kick));
            assertFalse(vm.register(0xd0000000L, 2, false, 3, kick), "KVM refuses a duplicate registration");
            set.start(pio, mmio, new Recorder(), false);
            assertTrue(done.await(10, TimeUnit.SECONDS), "guest did not finish");
            assertEquals(1, kick.drain());
            assertEquals(0, kick.drain());
            assertEquals(List.of("m+0/2=5"), List.copyOf(log));
            vm.unregister(0xd0000000L, 2, false, 3, kick);
            assertTrue(vm.register(0xd0000000L, 2, false, 3, kick), "unregister frees the address");
            vm.unregister(0xd0000000L, 2, false, 3, kick);
        }
    }

    @Test
    void msiVectorsGetTheirOwnGsiAndFreeIt() {
        boot(new byte[] {(byte) 0xF4});
        dev.jvmm.core.irq.MsiRouter.MsiVector a = vm.allocate();
        dev.jvmm.core.irq.MsiRouter.MsiVector b = vm.allocate();
        a.trigger(); // never programmed: nothing is sent
        a.update(0xfee00000L, 0x41);
        a.update(0xfee00000L, 0x41);
        a.trigger();
        b.update(0xfee00000L, 0x42);
        b.close();
        b.close();
        b.trigger();
        dev.jvmm.core.irq.MsiRouter.MsiVector c = vm.allocate();
        c.update(0xfee00000L, 0x43);
        c.trigger();
        a.close();
        c.close();
    }

    @Test
    void vmPlumbing() {
        Vcpu v = boot(new byte[] {(byte) 0xF4});
        assertTrue(kvm.maxVcpus() >= kvm.recommendedVcpus() && kvm.recommendedVcpus() >= 1);
        try (dev.jvmm.core.os.EventFd port = new dev.jvmm.core.os.EventFd();
             dev.jvmm.core.os.EventFd mmioKick = new dev.jvmm.core.os.EventFd()) {
            assertTrue(vm.register(0xc000, 2, true, 0, port));
            assertTrue(vm.register(0xd0001000L, 4, false, 7, mmioKick));
            vm.unregister(0xc000, 2, true, 0, port);
            vm.unregister(0xd0001000L, 4, false, 7, mmioKick);
        }
        vm.line(4).setLevel(true);
        vm.line(4).setLevel(false);
        vm.line(0).pulse();
        assertSame(vm.line(4), vm.line(4));
        vm.signalMsi(0xfee00000L, 0x30);
        vm.resetInterruptState();
        vm.setMsiRoute(KvmVm.FIRST_MSI_GSI, 0xfee00000L, 0x41);
        vm.removeMsiRoute(KvmVm.FIRST_MSI_GSI);
        assertThrows(IllegalArgumentException.class, () -> vm.setMsiRoute(3, 0xfee00000L, 0));
        assertEquals(Vcpu.APIC_MODE_EXTINT, (v.lapicRegister(Vcpu.APIC_LVT_LINT0) >> 8) & 7);
        assertEquals(Vcpu.APIC_MODE_NMI, (v.lapicRegister(Vcpu.APIC_LVT_LINT1) >> 8) & 7);
        assertEquals(1, v.getMsr(Vcpu.MSR_IA32_MISC_ENABLE) & 1);
        assertEquals(0x806, v.getMsr(Vcpu.MSR_MTRR_DEF_TYPE));
        Regs r = v.getRegs();
        assertEquals(CODE, r.rip());
        assertEquals(2, r.rflags());
        Sregs s = v.getSregs();
        assertEquals(0x10, s.cs().selector());
        assertEquals(0x11, s.cr0() & 0x11);
        KvmException e = assertThrows(KvmException.class, () -> vm.createVcpu(0, null));
        assertTrue(e.getMessage().startsWith("KVM_CREATE_VCPU failed: "), e.getMessage());
        assertTrue(e.getMessage().contains("(errno 17)"), e.getMessage());
    }

    /**
     * CPU hotplug: a vCPU added while the set runs gets its thread and waits for INIT/SIPI; a removed one
     * loses its thread but keeps its fd, parked until the next plug of its index takes it back (KVM cannot
     * destroy a vCPU). Pausing never waits for a removed vCPU.
     */
    @Test
    void addedVcpuRunsAndRemovedOneIsParkedForReuse() throws Exception {
        Vcpu bsp = boot(new byte[] {(byte) 0xEB, (byte) 0xFE});
        CpuModel model = CpuModel.parse("host", kvm.supportedCpuid(), new CpuTopology(1, 2, 1));
        set.start(pio, mmio, new Recorder(), false);

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
        assertNull(set.takeUnplugged(0), "the boot vCPU was never unplugged");

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
        long end = System.currentTimeMillis() + HOTPLUG_WAIT_MS;
        while (v.threadId() <= 0 && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
        assertTrue(v.threadId() > 0, "the added vCPU's thread did not start");
    }
}
