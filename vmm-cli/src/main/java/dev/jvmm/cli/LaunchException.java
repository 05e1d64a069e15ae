package dev.jvmm.cli;

/** A start-up failure reported as one line ("jvmm: MESSAGE") with exit status 1, never a stack trace. */
final class LaunchException extends RuntimeException {
    LaunchException(String message) {
        super(message);
    }

    LaunchException(String message, Throwable cause) {
        super(message, cause);
    }
}
