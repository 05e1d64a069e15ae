package dev.jvmm.devices.pci;

import java.util.List;

/**
 * One PCI function as the host bridge sees it: a 256-byte configuration space, and the BARs and interrupt
 * pin described there. Adding a PCI device to the machine is one class implementing this, usually over a
 * {@link PciConfigSpace}.
 */
public interface PciFunction {
    /** Reads size (1, 2 or 4) bytes of configuration space at offset (aligned to size). */
    int readConfig(int offset, int size);

    /** Writes configuration space; read-only bits keep their value, BAR writes go through sizing. */
    void writeConfig(int offset, int size, int value);

    /** A short QEMU-style description for query-pci ("Host bridge", "ISA bridge", ...), or null where QEMU has none. */
    String description();

    /** The qdev id the user gave (-device ...,id=), or "" (query-pci's qdev_id). */
    default String qdevId() {
        return "";
    }

    /** Called on machine reset: configuration space back to power-on values. */
    void reset();

    /**
     * The BARs this function decodes (declared in its config space with {@link PciConfigSpace#addBar}).
     * The bus maps each one's handler wherever COMMAND and the BAR register place it.
     */
    default List<PciBar> bars() {
        return List.of();
    }

    /**
     * Hands the function its INTx line when it is added to a bus (only when its interrupt pin is not 0).
     * The function raises and lowers it like a level-triggered wire; sharing and routing are the bus's job.
     */
    default void connectIntx(IntxLine line) {
    }

    /**
     * Firmware-less boot: what SeaBIOS's per-device table does for this function (e.g. the PIIX4 PM's
     * "SCI is IRQ 9" and PM base). {@link PciBus#assignResources()} calls it after placing BARs and setting
     * INTERRUPT_LINE, before enabling COMMAND IO/MEM/SERR, as SeaBIOS's pci_bios_init_device orders it.
     * Writes go through {@link #writeConfig} like a guest's.
     */
    default void firmwareSetup() {
    }
}
