package dev.jvmm.kvm;

/**
 * A named CPU model as QEMU 7.2 defines it for the pc-i440fx-7.2 machine under KVM: identity, CPUID
 * levels and the feature bits it asks for (QEMU's KVM defaults such as x2apic and kvmclock included).
 * The vendor is absent on purpose: under KVM, QEMU gives every named model the host's vendor.
 *
 * @param features requested bits per feature word, indexed like {@link CpuTable#words()}; null for
 *     the host-derived models ("host", "max")
 * @param legacyCache QEMU's legacy-cache default: false for the models with cache descriptors of their own
 */
public record CpuDefinition(String name, int family, int model, int stepping, int level, int xlevel,
                            int xlevel2, String modelId, String help, long[] features, boolean legacyCache) {
    /** True for "host" and "max", whose features and identity come from the host. */
    public boolean hostDerived() {
        return features == null;
    }
}
