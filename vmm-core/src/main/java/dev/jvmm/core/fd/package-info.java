/**
 * File descriptors handed to jvmm by its manager: SCM_RIGHTS messages on UNIX sockets ({@link dev.jvmm.core.fd.UnixMessages}),
 * QEMU's fd sets with their lifetime rules ({@link dev.jvmm.core.fd.FdSets}) and the {@code /dev/fdset/N} paths that
 * open a duplicate of one of a set's descriptors.
 */
package dev.jvmm.core.fd;
