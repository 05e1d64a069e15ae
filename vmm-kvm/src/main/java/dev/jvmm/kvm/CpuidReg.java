package dev.jvmm.kvm;

/** A CPUID result register. */
public enum CpuidReg { EAX, EBX, ECX, EDX }
