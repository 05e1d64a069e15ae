package dev.jvmm.devices.acpi;

/**
 * What the guest asks for by writing SLP_EN into PM1_CNT (ACPI 6.4, section 4.8.3.2.1). Called on a vCPU
 * thread from inside the port write; the machine decides how to stop vCPUs. QEMU 7.2 turns S4 into a
 * guest shutdown (after a SUSPEND_DISK event); the machine may do the same.
 */
public interface SleepRequest {
    /** SLP_TYP 0: soft off (S5). */
    void shutdown();

    /** SLP_TYP 1: suspend to RAM (S3). */
    void suspend();

    /** SLP_TYP equal to the S4 value (2 by default): suspend to disk. */
    void hibernate();

    /** The three requests as given. */
    static SleepRequest of(Runnable shutdown, Runnable suspend, Runnable hibernate) {
        return new SleepRequest() {
            @Override
            public void shutdown() {
                shutdown.run();
            }

            @Override
            public void suspend() {
                suspend.run();
            }

            @Override
            public void hibernate() {
                hibernate.run();
            }
        };
    }

    SleepRequest NONE = new SleepRequest() {
        @Override
        public void shutdown() {
        }

        @Override
        public void suspend() {
        }

        @Override
        public void hibernate() {
        }
    };
}
