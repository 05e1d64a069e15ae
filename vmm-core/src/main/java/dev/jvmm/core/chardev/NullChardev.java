package dev.jvmm.core.chardev;

/** QEMU's null backend: output is discarded, no input ever arrives. */
public final class NullChardev extends AbstractChardev {
    public NullChardev(String id) {
        super(id);
    }

    @Override
    public void write(byte[] data, int offset, int length) {
    }

    @Override
    public String describe() {
        return "null";
    }

    @Override
    public void close() {
    }
}
