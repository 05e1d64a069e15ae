package dev.jvmm.core.memory;

/** A guest-physical access that does not fall inside guest RAM. Devices catch it and report an error to the guest. */
public final class GuestMemoryException extends RuntimeException {
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length) {
        super(String.format("guest access 0x%x+%d is outside RAM", address, length));
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
