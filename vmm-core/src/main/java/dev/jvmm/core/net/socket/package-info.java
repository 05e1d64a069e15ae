/**
 * -netdev socket, stream and dgram: QEMU's net/socket.c, net/stream.c and net/dgram.c on JDK NIO channels,
 * one selector thread per backend. Stream connections carry each frame after a 4-byte big-endian length;
 * datagram backends carry one frame per datagram.
 */
package dev.jvmm.core.net.socket;
