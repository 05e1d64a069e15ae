package dev.jvmm.core.block;

import java.io.IOException;

/**
 * Sees the guest-data requests a format driver makes on its image file, at host offsets (what QEMU's blkdebug
 * sees when it sits under qcow2 as the format's "file" child). Throwing fails the request as a host error.
 */
public interface HostIoObserver {
    void hostRead(long offset, long bytes) throws IOException;

    void hostWrite(long offset, long bytes) throws IOException;
}
