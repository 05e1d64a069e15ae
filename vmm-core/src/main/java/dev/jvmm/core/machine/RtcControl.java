package dev.jvmm.core.machine;

/** rtc-reset-reinjection's target. */
@FunctionalInterface
public interface RtcControl {
    /** A machine whose RTC coalesces nothing: the command succeeds and does nothing, as on QEMU. */
    RtcControl NONE = () -> {
    };

    /** Forgets the RTC's backlog of coalesced periodic interrupts. */
    void resetReinjection();
}
