/**
 * jvmm's object model, as QEMU's QOM/qdev is QEMU's: {@link TypeInfo} declares a type once (name, parent,
 * interfaces, typed {@link Property properties}), {@link TypeRegistry} answers type questions
 * (qom-list-types, device-list-properties, -device help), {@link PropertyValues} resolves a device's
 * properties from defaults, -global and the user's arguments, and {@link QomTree} is the composition tree
 * qom-list, qom-get and qom-set walk. Nothing here knows a device: declarations live next to the devices.
 */
package dev.jvmm.core.qom;
