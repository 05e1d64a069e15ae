package dev.jvmm.core.machine;

/** query-kvm's answer: whether KVM is in use and whether it is available at all. */
public record KvmInfo(boolean enabled, boolean present) {
}
