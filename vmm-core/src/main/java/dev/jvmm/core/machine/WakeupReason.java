package dev.jvmm.core.machine;

/**
 * Why a suspended (S3) guest is being woken, as QEMU 7.2's WakeupReason (softmmu/runstate.c): the wake-up
 * request names it, the machine's wake-up mask can refuse it, and the ACPI PM block turns it into status bits
 * the resumed guest reads (ACPI 6.4 table 4.16: WAK_STS plus RTC_STS, TMR_STS or, for anything else, the
 * PWRBTN_STS QEMU uses as "woken by something").
 */
public enum WakeupReason {
    /** The RTC alarm fired with AIE set (MC146818A register B). Enabled by RTC_EN in PM1_EN. */
    RTC,
    /**
     * The ACPI PM timer carried into bit 23. Enabled by TMR_EN in PM1_EN, but never asked for on a pc: QEMU's
     * PM timer cannot fire while the vCPUs are paused for S3, so it wakes nothing there either.
     */
    PMTIMER,
    /** Anything else: QMP system_wakeup. Always enabled. */
    OTHER;

    /** This reason's bit in a wake-up mask. */
    public int bit() {
        return 1 << ordinal();
    }
}
