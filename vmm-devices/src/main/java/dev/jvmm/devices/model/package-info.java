/**
 * How devices are declared and created: a {@link DeviceClass} pairs a type declaration (vmm-core's
 * {@code TypeInfo}) with the factory that realizes it against a {@link DeviceContext}; {@link DeviceModel}
 * turns -device, -global and the legacy options into realized devices placed in the QOM tree.
 */
package dev.jvmm.devices.model;
