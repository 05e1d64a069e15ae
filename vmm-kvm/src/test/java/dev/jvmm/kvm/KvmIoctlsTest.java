package dev.jvmm.kvm;

import org.junit.jupiter.api.Test;

import static dev.jvmm.kvm.KvmIoctls.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

class KvmIoctlsTest {
    @Test
    void numbersMatchLinuxHeaders() {
        assertEquals(0xAE00L, KVM_GET_API_VERSION);
        assertEquals(0xAE01L, KVM_CREATE_VM);
        assertEquals(0xAE03L, KVM_CHECK_EXTENSION);
        assertEquals(0xAE04L, KVM_GET_VCPU_MMAP_SIZE);
        assertEquals(0xC008AE05L, KVM_GET_SUPPORTED_CPUID);
        assertEquals(0xAE41L, KVM_CREATE_VCPU);
        assertEquals(0x4020AE46L, KVM_SET_USER_MEMORY_REGION);
        assertEquals(0xAE47L, KVM_SET_TSS_ADDR);
        assertEquals(0x4008AE48L, KVM_SET_IDENTITY_MAP_ADDR);
        assertEquals(0xAE60L, KVM_CREATE_IRQCHIP);
        assertEquals(0x4008AE61L, KVM_IRQ_LINE);
        assertEquals(0x4008AE6AL, KVM_SET_GSI_ROUTING);
        assertEquals(0x4020AE76L, KVM_IRQFD);
        assertEquals(0x4040AE77L, KVM_CREATE_PIT2);
        assertEquals(0x4040AE79L, KVM_IOEVENTFD);
        assertEquals(0x4020AEA5L, KVM_SIGNAL_MSI);
        assertEquals(0xAE80L, KVM_RUN);
        assertEquals(0x8090AE81L, KVM_GET_REGS);
        assertEquals(0x4090AE82L, KVM_SET_REGS);
        assertEquals(0x8138AE83L, KVM_GET_SREGS);
        assertEquals(0x4138AE84L, KVM_SET_SREGS);
        assertEquals(0xC008AE88L, KVM_GET_MSRS);
        assertEquals(0x4008AE89L, KVM_SET_MSRS);
        assertEquals(0x81A0AE8CL, KVM_GET_FPU);
        assertEquals(0x41A0AE8DL, KVM_SET_FPU);
        assertEquals(0x8400AE8EL, KVM_GET_LAPIC);
        assertEquals(0x4400AE8FL, KVM_SET_LAPIC);
        assertEquals(0x4008AE90L, KVM_SET_CPUID2);
        assertEquals(0x8004AE98L, KVM_GET_MP_STATE);
        assertEquals(0xC208AE62L, KVM_GET_IRQCHIP);
        assertEquals(0x8208AE63L, KVM_SET_IRQCHIP);
        assertEquals(0x8070AE9FL, KVM_GET_PIT2);
        assertEquals(0x4070AEA0L, KVM_SET_PIT2);
        assertEquals(0x4004AE99L, KVM_SET_MP_STATE);
    }

    @Test
    void notKvmDeviceGivesOneLineError() {
        KvmException e = org.junit.jupiter.api.Assertions.assertThrows(KvmException.class, () -> Kvm.open("/dev/null"));
        assertEquals("KVM_GET_API_VERSION failed: Inappropriate ioctl for device (errno 25)", e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(KvmException.class, () -> Kvm.open("/nonexistent/kvm"));
        assertEquals("Could not access KVM kernel module: No such file or directory", e.getMessage());
    }

    @Test
    void pcRoutingMatchesQemu() {
        var routes = KvmVm.pcRoutes();
        // 7 PIC master + 8 PIC slave + 23 IOAPIC entries
        assertEquals(7 + 8 + 23, routes.size());
        assertEquals(true, routes.contains(new KvmVm.Route(0, KVM_IRQCHIP_IOAPIC, 2)));
        assertEquals(false, routes.stream().anyMatch(r -> r.gsi() == 2));
        assertEquals(true, routes.contains(new KvmVm.Route(9, KVM_IRQCHIP_PIC_SLAVE, 1)));
        assertEquals(true, routes.contains(new KvmVm.Route(23, KVM_IRQCHIP_IOAPIC, 23)));
    }
}
