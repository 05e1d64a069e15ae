package dev.jvmm.devices.pci;

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

    /** A short QEMU-style description for query-pci ("Host bridge", "ISA bridge", ...). */
    String description();

    /** The qdev id the user gave (-device ...,id=), or "" (query-pci's qdev_id). */
    default String qdevId() {
        return "";
    }

    /** Called on machine reset: configuration space back to power-on values. */
    void reset();
}
