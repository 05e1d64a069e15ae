package dev.jvmm.devices.model;

import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.PropertyValues;

/**
 * Realizes one device from its settled properties. A refusal is a PropertyException with QEMU's text (the
 * launcher prefixes the -device option); nothing may be left attached or open when it throws.
 */
@FunctionalInterface
public interface DeviceFactory {
    DeviceInstance realize(DeviceContext ctx, PropertyValues props, Placement where) throws PropertyException;
}
