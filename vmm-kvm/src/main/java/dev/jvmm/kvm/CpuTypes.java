package dev.jvmm.kvm;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.jvmm.core.qom.Property.object;
import static dev.jvmm.core.qom.Property.of;

/**
 * QEMU 7.2's CPU types: the abstract "cpu" and "x86_64-cpu", and one "NAME-x86_64-cpu" for every name -cpu
 * accepts (models, their versions and aliases; "host" derives from "max"). The feature properties come from
 * {@link CpuTable}: every feature bit name is a bool property of x86_64-cpu, every alias a bool property of
 * each concrete type (QEMU adds aliases per object, so the abstract type does not list them). The other
 * properties have no source in the table and are listed here with QEMU's types and default-values
 * (target/i386/cpu.c, hw/core/cpu-common.c).
 *
 * <p>jvmm reads a CPU's configuration from -cpu ({@link CpuResolver}), which looks its non-feature names up
 * here; -device and device_add of a CPU type are not offered.
 */
public final class CpuTypes {
    /** The suffix of every x86 CPU type: "qemu64" is "qemu64-x86_64-cpu". */
    public static final String SUFFIX = "-x86_64-cpu";
    public static final String CPU = "cpu";
    public static final String X86_CPU = "x86_64-cpu";
    /** The parent of "host-x86_64-cpu", whose own properties only host and max have. */
    public static final String MAX = "max" + SUFFIX;

    /**
     * A Hyper-V enlightenment: the property is "hv-NAME"; description is QEMU's text in "Hyper-V ... (requested
     * by 'hv-NAME' cpu flag) is not supported by kernel"; bit is true for the on/off bit properties (QEMU's
     * DEFINE_PROP_BIT64 on hyperv_features), false for plain bools.
     */
    record Hyperv(String name, String description, boolean bit) {
        String property() {
            return "hv-" + name;
        }
    }

    static final List<Hyperv> HYPERV = List.of(
            new Hyperv("relaxed", "relaxed timing", true), new Hyperv("vapic", "virtual APIC", true),
            new Hyperv("time", "clocksources", true), new Hyperv("crash", "crash MSRs", true),
            new Hyperv("reset", "reset", true), new Hyperv("vpindex", "VP_INDEX MSR", true),
            new Hyperv("runtime", "VP_RUNTIME", true), new Hyperv("synic", "synthetic interrupt controller", true),
            new Hyperv("stimer", "synthetic timers", true), new Hyperv("frequencies", "frequency MSRs", true),
            new Hyperv("reenlightenment", "reenlightenment MSRs", true),
            new Hyperv("tlbflush", "paravirtualized TLB flush", true), new Hyperv("evmcs", "enlightened VMCS", true),
            new Hyperv("ipi", "paravirtualized IPI", true),
            new Hyperv("stimer-direct", "direct mode synthetic timers", true),
            new Hyperv("avic", "AVIC/APICv support", true), new Hyperv("apicv", "AVIC/APICv support", true),
            new Hyperv("syndbg", "Enlightened Syndbg", true), new Hyperv("emsr-bitmap", "enlightened MSR-Bitmap", true),
            new Hyperv("xmm-input", "XMM fast hypercall input", true),
            new Hyperv("tlbflush-ext", "Extended gva ranges for flush hypercalls", true),
            new Hyperv("tlbflush-direct", "direct TLB flush", true), new Hyperv("passthrough", "passthrough", false),
            new Hyperv("enforce-cpuid", "enforce-cpuid", false));

    private static final long UINT32_MAX = 0xffff_ffffL;

    /** hw/core/cpu-common.c: what every CPU has. */
    private static final List<Property> CPU_PROPS = List.of(
            object("memory", PropType.link("memory-region")),
            of("start-powered-off", PropType.BOOL),
            object("legacy-memory", PropType.object("str")));

    /** target/i386/cpu.c: x86_64-cpu's properties other than feature bits and Hyper-V enlightenments. */
    private static final List<Property> X86_SCALARS = List.of(
            // CPUID identity; "vendor" and "model-id" are plain QOM strings, family/model/stepping plain ints.
            of("family", PropType.INT), of("model", PropType.INT), of("stepping", PropType.INT),
            of("model-id", PropType.QOM_STRING), of("vendor", PropType.QOM_STRING),
            of("tsc-frequency", PropType.INT),
            // CPUID levels: UINT32_MAX is "from the model, raised to what the features need".
            of("level", PropType.UINT32, UINT32_MAX), of("xlevel", PropType.UINT32, UINT32_MAX),
            of("xlevel2", PropType.UINT32, UINT32_MAX), of("level-func7", PropType.UINT32, UINT32_MAX),
            of("min-level", PropType.UINT32, 0L), of("min-xlevel", PropType.UINT32, 0L),
            of("min-xlevel2", PropType.UINT32, 0L),
            // Topology, set by the board from -smp before the CPU is realized (-1: unset).
            of("apic-id", PropType.UINT32, UINT32_MAX), of("node-id", PropType.INT32, -1L),
            of("socket-id", PropType.INT32, -1L), of("die-id", PropType.INT32, -1L),
            of("core-id", PropType.INT32, -1L), of("thread-id", PropType.INT32, -1L),
            // Behaviour switches.
            of("check", PropType.BOOL, true), of("enforce", PropType.BOOL, false), of("kvm", PropType.BOOL, true),
            of("pmu", PropType.BOOL, false), of("lmce", PropType.BOOL, false),
            of("cpuid-0xb", PropType.BOOL, true), of("l3-cache", PropType.BOOL, true),
            // device-list-properties hides "legacy-" names, so QEMU shows no default; its source has true.
            of("legacy-cache", PropType.BOOL, true),
            of("fill-mtrr-mask", PropType.BOOL, true), of("full-cpuid-auto-level", PropType.BOOL, true),
            of("vmware-cpuid-freq", PropType.BOOL, true), of("tcg-cpuid", PropType.BOOL, true),
            of("kvm-no-smi-migration", PropType.BOOL, false), of("kvm-pv-enforce-cpuid", PropType.BOOL, false),
            of("x-force-features", PropType.BOOL, false), of("x-hv-synic-kvm-only", PropType.BOOL, false),
            of("x-intel-pt-auto-level", PropType.BOOL, true), of("x-migrate-smi-count", PropType.BOOL, true),
            of("x-vendor-cpuid-only", PropType.BOOL, true),
            of("phys-bits", PropType.UINT32, 0L), of("host-phys-bits", PropType.BOOL, false),
            of("host-phys-bits-limit", PropType.UINT8, 0L),
            of("ucode-rev", PropType.UINT64, 0L), of("lbr-fmt", PropType.UINT64),
            // Hyper-V settings other than the enlightenment bits (those come from HYPERV).
            of("hv-spinlocks", PropType.UINT32, UINT32_MAX), of("hv-vendor-id", PropType.STR),
            of("hv-no-nonarch-coresharing", PropType.ON_OFF_AUTO, "off"),
            of("hv-version-id-build", PropType.UINT32, 14393L), of("hv-version-id-major", PropType.UINT16, 10L),
            of("hv-version-id-minor", PropType.UINT16, 0L), of("hv-version-id-sbranch", PropType.UINT8, 0L),
            of("hv-version-id-snumber", PropType.UINT32, 0L), of("hv-version-id-spack", PropType.UINT32, 0L),
            of("x-hv-max-vps", PropType.INT32, -1L),
            // Read-only views of the realized CPU.
            object("crash-information", PropType.object("GuestPanicInformation")),
            object("unavailable-features", PropType.object("strList")));

    /** What x86_cpu_initfn adds to every object besides the feature aliases. */
    private static final List<Property> INSTANCE_EXTRAS = List.of(
            object("feature-words", PropType.object("X86CPUFeatureWordInfo")),
            object("filtered-features", PropType.object("X86CPUFeatureWordInfo")),
            // Aliases of hv-avic and lbr-fmt, which show their targets' types and defaults.
            of("hv-apicv", PropType.BIT, false), of("lbr_fmt", PropType.UINT64));

    /** max-x86_64-cpu's own (host inherits them): whether to hide unmigratable features, host cache CPUID. */
    private static final List<Property> MAX_PROPS = List.of(
            of("migratable", PropType.BOOL, true), of("host-cache-info", PropType.BOOL, false));

    private static final class Declared {
        static final Declared INSTANCE = new Declared(CpuModel.table());

        final List<TypeInfo> types;
        final Map<String, Property> x86 = new LinkedHashMap<>();
        final Map<String, Property> max = new LinkedHashMap<>();

        Declared(CpuTable table) {
            List<Property> own = new ArrayList<>();
            for (String f : table.featureNames()) {
                own.add(of(f, PropType.BOOL));
            }
            own.addAll(X86_SCALARS);
            for (Hyperv h : HYPERV) {
                if (!h.name().equals("apicv")) {
                    own.add(of(h.property(), h.bit() ? PropType.BIT : PropType.BOOL, false));
                }
            }
            List<Property> perObject = new ArrayList<>();
            for (String a : table.aliasNames()) {
                perObject.add(of(a, PropType.BOOL));
            }
            perObject.addAll(INSTANCE_EXTRAS);
            for (List<Property> l : List.of(CPU_PROPS, own, perObject)) {
                l.forEach(p -> x86.put(p.name(), p));
            }
            max.putAll(x86);
            MAX_PROPS.forEach(p -> max.put(p.name(), p));

            List<TypeInfo> out = new ArrayList<>();
            out.add(TypeInfo.abstractType(CPU, "device").props(CPU_PROPS.toArray(Property[]::new)).build());
            out.add(TypeInfo.abstractType(X86_CPU, CPU).props(own.toArray(Property[]::new)).build());
            Property[] instance = perObject.toArray(Property[]::new);
            for (String model : table.modelNames()) {
                String name = typeName(model);
                if (name.equals(MAX)) {
                    out.add(TypeInfo.type(name, X86_CPU).category("CPU").props(instance)
                            .props(MAX_PROPS.toArray(Property[]::new)).build());
                } else if (model.equals("host")) {
                    out.add(TypeInfo.type(name, MAX).category("CPU").build());
                } else {
                    out.add(TypeInfo.type(name, X86_CPU).category("CPU").props(instance).build());
                }
            }
            types = List.copyOf(out);
        }
    }

    private CpuTypes() {
    }

    /** QEMU's type for a -cpu name: "qemu64" is "qemu64-x86_64-cpu". */
    public static String typeName(String model) {
        return model + SUFFIX;
    }

    /** "cpu", "x86_64-cpu" and every concrete CPU type, for the type registry. */
    public static List<TypeInfo> all() {
        return Declared.INSTANCE.types;
    }

    /**
     * A property every CPU object of the kind has (cpu's, x86_64-cpu's and the per-object ones); hostDerived
     * adds max's and host's own.
     */
    public static Optional<Property> property(String name, boolean hostDerived) {
        Declared d = Declared.INSTANCE;
        return Optional.ofNullable((hostDerived ? d.max : d.x86).get(name));
    }

    /** Every property of a CPU object of the kind, in declaration order. */
    static List<Property> properties(boolean hostDerived) {
        Declared d = Declared.INSTANCE;
        return List.copyOf((hostDerived ? d.max : d.x86).values());
    }

    /** The enlightenment a "hv-..." property name stands for. */
    static Optional<Hyperv> hyperv(String property) {
        return HYPERV.stream().filter(h -> h.property().equals(property)).findFirst();
    }
}
