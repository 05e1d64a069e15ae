package dev.jvmm.devices.pci;

import dev.jvmm.core.io.MmioBus;
import dev.jvmm.core.io.PioBus;

/**
 * Where the bus places BAR handlers when the guest (or firmware-less set-up) moves, enables or disables a
 * BAR. Called on the vCPU thread doing the config write, with the bus lock held: implementations only
 * (un)register ranges and must not call back into the bus.
 */
public interface BarMapper {
    /** Makes bar's handler serve [address, address + size); false if the range cannot be taken. */
    boolean map(PciBar bar, long address);

    /** Removes bar's handler from address (only ever called after a successful map at that address). */
    void unmap(PciBar bar, long address);

    BarMapper NONE = new BarMapper() {
        @Override
        public boolean map(PciBar bar, long address) {
            return true;
        }

        @Override
        public void unmap(PciBar bar, long address) {
        }
    };

    /**
     * Registers I/O BARs on pio and memory BARs on mmio. A range that overlaps another device or leaves
     * the port space is refused (the BAR stays unmapped) instead of failing the guest's config write.
     */
    static BarMapper of(PioBus pio, MmioBus mmio) {
        return new BarMapper() {
            @Override
            public boolean map(PciBar bar, long address) {
                try {
                    if (bar.isIo()) {
                        pio.register((int) address, (int) bar.size(), bar.handler());
                    } else {
                        mmio.register(address, bar.size(), bar.handler());
                    }
                    return true;
                } catch (IllegalArgumentException | IllegalStateException e) {
                    return false;
                }
            }

            @Override
            public void unmap(PciBar bar, long address) {
                if (bar.isIo()) {
                    pio.unregister((int) address, (int) bar.size(), bar.handler());
                } else {
                    mmio.unregister(address, bar.handler());
                }
            }
        };
    }
}
