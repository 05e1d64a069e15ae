package dev.jvmm.kvm.boot;

/** A reason an image is unusable; {@link KernelLoader} prefixes it with the file name. */
final class ImageError extends RuntimeException {
    ImageError(String reason) {
        super(reason, null, false, false);
    }
}
