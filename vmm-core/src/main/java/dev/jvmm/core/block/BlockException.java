package dev.jvmm.core.block;

import java.io.IOException;

/** A block request or image that cannot be served: bad offset, corrupt or unsupported image format. */
public final class BlockException extends IOException {
    public BlockException(String message) {
        super(message);
    }

    public BlockException(String message, Throwable cause) {
        super(message, cause);
    }
}
