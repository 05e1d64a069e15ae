package dev.jvmm.kvm;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CpuModelTest {
    /** An AMD host whose KVM lacks pni/ssse3 and friends, as PVM's table on the EPYC machines. */
    static CpuidEntry[] fake() {
        return new CpuidEntry[] {
            new CpuidEntry(0, 0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65),
            new CpuidEntry(1, 0, 0, 0x00a00f11, 0x800, (1 << 26) | (1 << 28) | (1 << 21) | (1 << 30) | (1 << 20)
                    | (1 << 13) | (1 << 24), 0x078bfbff),
            new CpuidEntry(4, 0, 1, 0x121, 0, 0, 0),
            new CpuidEntry(4, 3, 1, 0x163, 0, 0, 0),
            new CpuidEntry(7, 0, 1, 0, (1 << 5) | 1, 0, 0),
            new CpuidEntry(0xb, 0, 1, 1, 2, 0x100, 0),
            new CpuidEntry(0xd, 0, 1, 7, 0x340, 0x340, 0),
            new CpuidEntry(0xd, 1, 1, 0xf, 0, 0, 0),
            new CpuidEntry(0xd, 2, 1, 0x100, 0x240, 0, 0),
            new CpuidEntry(0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65),
            new CpuidEntry(0x80000001, 0, 0, 0x00a00f11, 0, 0x00400393 | 1, 0x23d3fbff),
            new CpuidEntry(0x80000008, 0, 0, 0x3030, 0, 0, 0),
            new CpuidEntry(0x40000001, 0, 0, 0x01007efb, 0, 0, 0),
        };
    }

    private static CpuModel parse(String spec) {
        return CpuModel.parse(spec, fake(), CpuTopology.single());
    }

    private static CpuidEntry find(List<CpuidEntry> t, int leaf, int sub) {
        return t.stream().filter(e -> e.function() == leaf && e.index() == sub).findFirst().orElseThrow();
    }

    @Test
    void qemu64IsQemusTable() {
        CpuModel m = parse("qemu64");
        List<CpuidEntry> t = m.entriesFor(0);
        assertEquals(0x00060fb1, find(t, 1, 0).eax());
        assertEquals(0x800, find(t, 1, 0).ebx());
        assertEquals(0x3028, find(t, 0x80000008, 0).eax());
        assertEquals(0xd, find(t, 0, 0).eax());
        assertEquals(0x8000000a, find(t, 0x80000000, 0).eax());
        // x2apic, cx16 and hypervisor as QEMU's qemu64 under KVM; pni is dropped (the host lacks it).
        assertEquals((1 << 21) | (1 << 13) | (1 << 31), find(t, 1, 0).ecx());
        assertEquals(0x078bfbfd & ~(1 << 28) & ~(1 << 20) & ~(1 << 21) & ~(1 << 22) & ~(1 << 27) & ~(1 << 1)
                | (1 << 19), find(t, 1, 0).edx() | (1 << 19));
        // AMD vendor: leaf 1 EDX's common bits repeat in 8000_0001h EDX.
        assertEquals(0x2193fbfd, find(t, 0x80000001, 0).edx());
        assertEquals(0x0100007b, find(t, 0x40000001, 0).eax());
        assertEquals(List.of("host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]"), m.warnings());
        assertTrue(m.has("x2apic"));
        assertFalse(m.has("sse3"));
    }

    @Test
    void namedModelsTakeTheHostVendorAndTheirOwnIdentity() {
        CpuModel m = parse("Skylake-Client");
        CpuIdentity c = m.identity();
        assertEquals("AuthenticAMD", c.vendor());
        assertEquals(6, c.family());
        assertEquals(94, c.model());
        assertEquals(3, c.stepping());
        assertEquals("Intel Core Processor (Skylake)", c.modelId());
        assertEquals(40, c.physBits());
        assertEquals("host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]", m.warnings().get(0));
        assertTrue(m.warnings().contains("host doesn't support requested feature: CPUID.07H:EBX.hle [bit 4]"));
        assertEquals(parse("Skylake-Client-v1").identity().modelId(), c.modelId());
        assertTrue(parse("Skylake-Client-IBRS").warnings().contains(
                "host doesn't support requested feature: CPUID.07H:EDX.spec-ctrl [bit 26]"));
        assertEquals(23, parse("EPYC").identity().family());
        assertEquals("GenuineIntel", parse("EPYC,vendor=GenuineIntel").identity().vendor());
    }

    @Test
    void editsApplyInQemusOrder() {
        CpuModel m = parse("qemu64,+avx,-x2apic");
        assertFalse(m.has("x2apic"));
        assertTrue(m.has("avx"));
        // "-feat" wins over "+feat" and over feat=on, wherever it stands.
        assertFalse(parse("qemu64,-lm,+lm").has("lm"));
        assertFalse(parse("qemu64,-lm,lm=on").has("lm"));
        assertTrue(parse("qemu64,lahf_lm=off,lahf-lm=on").has("lahf-lm"));
        assertFalse(parse("qemu64,sse4_2=off").has("sse4.2"));
        assertTrue(parse("qemu64,+sse4-2").has("sse4.2"));
        assertTrue(parse("qemu64,kvmclock=off").identity().features()[CpuModel.table().word("KVM").index()] != 0);
        assertFalse(parse("qemu64,kvmclock=off").has("kvmclock"));
    }

    @Test
    void unsupportedFeatureIsDroppedWithQemuWarning() {
        // qemu64 has no XSAVE, so AVX-512's state components are not asked for: QEMU 7.2 prints these two lines
        CpuModel m = parse("qemu64,+avx512f,+pni");
        assertFalse(m.has("avx512f"));
        assertEquals(List.of("host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]",
                "host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]"), m.warnings());
        assertEquals(List.of(), parse("qemu64,check=off").warnings());
    }

    @Test
    void errorsAreQemus() {
        assertEquals("Property 'qemu64-x86_64-cpu.foo' not found", error("qemu64,+foo"));
        assertEquals("Property 'qemu64-x86_64-cpu.foo' not found", error("qemu64,-foo"));
        assertEquals("can't apply global qemu64-x86_64-cpu.foo=on: Property 'qemu64-x86_64-cpu.foo' not found",
                error("qemu64,foo"));
        assertEquals("can't apply global qemu64-x86_64-cpu.avx=maybe: Parameter 'avx' expects 'on' or 'off'",
                error("qemu64,avx=maybe"));
        assertEquals("can't apply global qemu64-x86_64-cpu.family=x: Parameter 'family' expects int64",
                error("qemu64,family=x"));
        assertEquals("can't apply global qemu64-x86_64-cpu.level=abc: Parameter 'level' expects uint64",
                error("qemu64,level=abc"));
        // strtoull's syntax first (a minus wraps), then the property's width
        assertEquals("can't apply global qemu64-x86_64-cpu.level=-1: Parameter 'level' expects uint32_t",
                error("qemu64,level=-1"));
        assertEquals("can't apply global qemu64-x86_64-cpu.xlevel=0x100000000: Parameter 'xlevel' expects uint32_t",
                error("qemu64,xlevel=0x100000000"));
        assertEquals("can't apply global qemu64-x86_64-cpu.host-phys-bits-limit=300: Parameter "
                + "'host-phys-bits-limit' expects uint8_t", error("qemu64,host-phys-bits-limit=300"));
        assertEquals(8, find(parse("qemu64,level=010").entriesFor(0), 0, 0).eax());
        assertEquals("can't apply global qemu64-x86_64-cpu.vendor=Intel: Property '.vendor' doesn't take value 'Intel'",
                error("qemu64,vendor=Intel"));
        assertEquals("can't apply global qemu64-x86_64-cpu.stepping=16: Property .stepping doesn't take value 16 "
                + "(minimum: 0, maximum: 15)", error("qemu64,stepping=16"));
        assertEquals("can't apply global qemu64-x86_64-cpu.migratable=no: Property 'qemu64-x86_64-cpu.migratable' "
                + "not found", error("qemu64,migratable=no"));
        // QOM-only properties (qemu-system-x86_64 7.2's texts), and an enum read as QEMU reads it
        assertEquals("can't apply global qemu64-x86_64-cpu.feature-words=1: Property 'qemu64-x86_64-cpu.feature-words'"
                + " is not writable", error("qemu64,feature-words=1"));
        assertEquals("Property 'qemu64-x86_64-cpu.crash-information' is not writable",
                error("qemu64,+crash-information"));
        assertEquals("can't apply global qemu64-x86_64-cpu.memory=x: Device 'x' not found", error("qemu64,memory=x"));
        assertEquals("Invalid parameter type for 'memory', expected: string", error("qemu64,-memory"));
        assertEquals("can't apply global qemu64-x86_64-cpu.hv-no-nonarch-coresharing=bogus: Parameter "
                + "'hv-no-nonarch-coresharing' does not accept value 'bogus'",
                error("qemu64,hv-no-nonarch-coresharing=bogus"));
        assertEquals("auto", parse("qemu64,hv-no-nonarch-coresharing=auto").propertyValues()
                .get("hv-no-nonarch-coresharing"));
        assertEquals("unable to find CPU model 'foo'", error("foo"));
        assertEquals("phys-bits should be between 32 and 52  (but is 99)", error("qemu64,phys-bits=99"));
        CpuModel.CpuError e = assertThrows(CpuModel.CpuError.class,
                () -> parse("qemu64,+avx512f,enforce"));
        assertEquals("Host doesn't support requested features", e.getMessage());
        assertEquals(2, e.warnings().size());
        assertEquals("Hyper-V relaxed timing (requested by 'hv-relaxed' cpu flag) is not supported by kernel",
                error("qemu64,hv-relaxed"));
    }

    private static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> parse(spec)).getMessage();
    }

    @Test
    void propertiesLibvirtWritesAreAccepted() {
        CpuModel m = parse("host,kvm=off,migratable=off,pmu=off,check,host-phys-bits=on,l3-cache=off,hv-relaxed=off,"
                + "hv-spinlocks=0x1fff,hv-vendor-id=KVMKVMKVM");
        assertTrue(m.entriesFor(0).stream().noneMatch(e -> e.function() == 0x40000000));
        assertTrue(parse("max").entriesFor(0).stream().anyMatch(e -> e.function() == 0x40000000));
        CpuModel x = parse("qemu64,family=6,model=158,stepping=10,model-id=Custom,level=0x14,xlevel=0x80000008");
        assertEquals(0x000906ea, find(x.entriesFor(0), 1, 0).eax());
        assertEquals(0x14, find(x.entriesFor(0), 0, 0).eax());
        assertEquals("Cust", CpuidEncoder.ascii(find(x.entriesFor(0), 0x80000002, 0).eax())
                + CpuidEncoder.ascii(find(x.entriesFor(0), 0x80000002, 0).ebx()).substring(0, 0));
        assertEquals(0x3028, find(parse("kvm64").entriesFor(0), 0x80000008, 0).eax());
    }

    @Test
    void hostTakesWhatKvmOffersAndMigratableHidesInvtsc() {
        CpuModel m = parse("host");
        assertTrue(m.has("x2apic"));
        assertTrue(m.has("rdrand"));
        assertTrue(m.has("hypervisor"));
        assertFalse(m.has("pni"));
        assertEquals(48, m.identity().physBits());
        assertEquals(0x00a00f11, find(m.entriesFor(0), 1, 0).eax());
        assertEquals(List.of(), m.warnings());
    }

    @Test
    void archCapabilitiesFollowsTheFeatureMsrs() {
        HostCpu withMsr = new HostCpu(List.of(fake()), Map.of(0x10a, 0x400000000c000069L), "AMD EPYC");
        CpuModel m = CpuModel.parse("max", withMsr, CpuTopology.single());
        assertTrue(m.has("arch-capabilities"));
        assertEquals(1, m.featureMsrs().size());
        assertEquals(0x69, m.featureMsrs().get(0)[1]);
        CpuModel off = m.without("arch-capabilities");
        assertFalse(off.has("arch-capabilities"));
        assertEquals(0, find(off.entriesFor(0), 7, 0).edx() & (1 << 29));
        assertTrue(off.featureMsrs().isEmpty());
        assertFalse(parse("max").has("arch-capabilities"));
        assertEquals("AMD EPYC", CpuModel.parse("host", withMsr, CpuTopology.single()).identity().modelId());
    }

    @Test
    void topologyAndApicIds() {
        CpuTopology topo = new CpuTopology(2, 2, 2);
        CpuModel m = CpuModel.parse("host", fake(), topo);
        assertEquals(5, topo.apicId(5));
        assertEquals(1, topo.socketOf(5));
        assertEquals(0, topo.coreOf(5));
        assertEquals(1, topo.threadOf(5));
        List<CpuidEntry> t = m.entriesFor(5);
        CpuidEntry l1 = find(t, 1, 0);
        assertEquals(5, l1.ebx() >>> 24);
        assertEquals(4, (l1.ebx() >>> 16) & 0xff);
        assertEquals(2, find(t, 0xb, 0).ebx());
        assertEquals(5, find(t, 0xb, 1).edx());
        assertEquals(4, find(t, 0xb, 1).ebx());
        assertEquals(1, find(t, 4, 0).eax() >>> 26);
        // 2 cores x 2 threads: two APIC ID bits below the package, four threads a package (NC = 3)
        assertEquals((2 << 12) | 3, find(t, 0x80000008, 0).ecx());
        CpuidEntry sig = find(t, 0x40000000, 0);
        assertEquals(0x4b4d564b, sig.ebx());
        assertEquals(0, (find(CpuModel.parse("host", fake(), CpuTopology.single()).entriesFor(0), 1, 0).ebx() >>> 16) & 0xff);
        assertEquals(2, new CpuTopology(1, 3, 1).apicId(2));
        assertEquals(4, new CpuTopology(2, 3, 1).apicId(3));
    }

    @Test
    void tableKnowsQemusNamesAndHelp() {
        CpuTable t = CpuModel.table();
        for (String n : ("fpu pni sse3 sse4.1 sse4_1 sse4-1 tsc-deadline lahf_lm i64 xd arch-capabilities rdctl-no "
                + "vmx-ept svm npt kvm-pv-unhalt kvmclock-stable-bit avx512-bf16 xsaves").split(" ")) {
            assertNotNull(t.feature(n), n);
        }
        assertNull(t.feature("osxsave"));
        assertEquals(321, t.flagNames().size());
        for (String m : ("qemu64 kvm64 max host Skylake-Client Skylake-Server Cascadelake-Server Icelake-Server EPYC "
                + "EPYC-Rome EPYC-Milan Nehalem Haswell Broadwell Opteron_G5 qemu32 kvm32 Skylake-Client-IBRS").split(" ")) {
            assertNotNull(t.model(m), m);
        }
        String help = CpuModel.help();
        assertTrue(help.startsWith("Available CPUs:\nx86 486                   (alias configured by machine type)\n"));
        assertTrue(help.contains("\nx86 Skylake-Client-IBRS   (alias of Skylake-Client-v2)\n"));
        assertTrue(help.contains("\nx86 host                  processor with all supported host features \n"));
        assertTrue(help.contains("\n\nRecognized CPUID flags:\n  3dnow 3dnowext 3dnowprefetch abm ace2 ace2-en acpi adx aes amd-no-ssb\n"));
        assertTrue(help.endsWith("  xsaveerptr xsaveopt xsaves xstore xstore-en xtpr\n\n"));
    }
}
