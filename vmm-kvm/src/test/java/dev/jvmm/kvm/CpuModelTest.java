package dev.jvmm.kvm;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CpuModelTest {
    private static CpuidEntry[] fake() {
        return new CpuidEntry[] {
            new CpuidEntry(0, 0, 0, 0xd, 0, 0, 0),
            new CpuidEntry(1, 0, 0, 0x806f8, 0x800, (1 << 26) | (1 << 28) | (1 << 21) | (1 << 30) | (1 << 20), 0xffffffff),
            new CpuidEntry(4, 0, 1, 0x121, 0, 0, 0),
            new CpuidEntry(4, 3, 1, 0x163, 0, 0, 0),
            new CpuidEntry(7, 0, 1, 0, (1 << 5) | 1, 0, 0),
            new CpuidEntry(0xb, 0, 1, 1, 2, 0x100, 0),
            new CpuidEntry(0xd, 1, 1, 0xf, 0, 0, 0),
            new CpuidEntry(0x80000001, 0, 0, 0, 0, 1, 1 << 29),
        };
    }

    private static CpuidEntry find(List<CpuidEntry> t, int leaf, int sub) {
        return t.stream().filter(e -> e.function() == leaf && e.index() == sub).findFirst().orElseThrow();
    }

    @Test
    void plusMinusAndOnOff() {
        CpuModel m = CpuModel.parse("host,-x2apic,-rdrand,+rdrand,lm=off,sse4.2=off,sse4.2=on", fake(),
                CpuTopology.single());
        assertFalse(CpuModel.parse("host,-rdrand", fake(), CpuTopology.single()).has("rdrand"));
        assertFalse(CpuModel.parse("host,sse4_2=off", fake(), CpuTopology.single()).has("sse4.2"));
        assertFalse(m.has("x2apic"));
        assertTrue(m.has("rdrand"));
        assertFalse(m.has("lm"));
        assertTrue(m.has("sse4_2"));
        assertTrue(m.has("hypervisor"));
    }

    @Test
    void unsupportedFeatureIsDroppedWithQemuWarning() {
        CpuModel m = CpuModel.parse("host,+avx512f,+pni", fake(), CpuTopology.single());
        assertFalse(m.has("avx512f"));
        assertEquals(List.of("host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]",
                "host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]"), m.warnings());
    }

    @Test
    void unknownFeatureIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuModel.parse("host,+foo", fake(), CpuTopology.single()));
        assertEquals("-cpu host,+foo: unknown CPU feature 'foo'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuModel.parse("qemu64", fake(), CpuTopology.single()));
        assertThrows(IllegalArgumentException.class, () -> CpuModel.parse("host,avx=maybe", fake(), CpuTopology.single()));
        assertTrue(CpuModel.parse("host,-rdrand,rdrand", fake(), CpuTopology.single()).has("rdrand"));
    }

    @Test
    void kvmOffHidesSignatureAndHostPropertiesAreAccepted() {
        CpuModel m = CpuModel.parse("host,kvm=off,migratable=off,pmu=off,check", fake(), CpuTopology.single());
        assertTrue(m.entriesFor(0).stream().noneMatch(e -> e.function() == 0x40000000));
        CpuModel k = CpuModel.parse("max", fake(), CpuTopology.single());
        assertTrue(k.entriesFor(0).stream().anyMatch(e -> e.function() == 0x40000000));
    }

    @Test
    void clearingXsaveClearsDependants() {
        CpuModel m = CpuModel.parse("host,-xsave", fake(), CpuTopology.single());
        assertFalse(m.has("xsave"));
        assertFalse(m.has("avx"));
        assertFalse(m.has("avx2"));
        assertFalse(m.has("xsaveopt"));
        assertFalse(m.has("xsaves"));
        assertTrue(m.has("fsgsbase"));
    }

    @Test
    void topologyAndApicIds() {
        CpuTopology topo = new CpuTopology(2, 2, 2);
        CpuModel m = CpuModel.parse("host", fake(), topo);
        assertEquals(5, topo.apicId(5));
        assertEquals(1, topo.socketOf(5));
        assertEquals(0, topo.coreOf(5));
        assertEquals(1, topo.threadOf(5)); // socket 1, core 0, thread 1 -> 1<<2 | 0<<1 | 1
        List<CpuidEntry> t = m.entriesFor(5);
        CpuidEntry l1 = find(t, 1, 0);
        assertEquals(5, l1.ebx() >>> 24);
        assertEquals(4, (l1.ebx() >>> 16) & 0xff);
        assertEquals(2, find(t, 0xb, 0).ebx());
        assertEquals(5, find(t, 0xb, 1).edx());
        assertEquals(4, find(t, 0xb, 1).ebx());
        assertEquals(1, find(t, 4, 0).eax() >>> 26); // cores - 1
        CpuidEntry sig = find(t, 0x40000000, 0);
        assertEquals(0x4b4d564b, sig.ebx());
        assertEquals(2, new CpuTopology(1, 3, 1).apicId(2));
        assertEquals(4, new CpuTopology(2, 3, 1).apicId(3));
    }

    @Test
    void featureTableHasQemuNames() {
        for (String n : "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht pni sse3 pclmulqdq ssse3 fma cx16 pcid sse4.1 sse4_1 sse4.2 sse4_2 x2apic movbe popcnt tsc-deadline aes xsave osxsave avx f16c rdrand hypervisor fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm avx512f rdseed adx smap clflushopt sha-ni syscall nx pdpe1gb rdtscp lm lahf_lm abm 3dnowprefetch invtsc xsaveopt xsavec xgetbv1 xsaves".split(" ")) {
            assertNotNull(CpuFeature.byName(n), n);
        }
    }
}
