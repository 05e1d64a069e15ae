package dev.jvmm.core.block;

import java.io.IOException;

/**
 * Another process holds the image in a way that excludes us (QEMU's image locking). The message is QEMU's
 * ('Failed to get "write" lock'); {@link #hint()} is the second line QEMU prints on the command line
 * ("Is another process using the image [path]?"), which QMP error descriptions leave out.
 */
public final class ImageLockException extends IOException {
    private final String hint;

    public ImageLockException(String message, String hint) {
        super(message);
        this.hint = hint;
    }

    public String hint() {
        return hint;
    }
}
