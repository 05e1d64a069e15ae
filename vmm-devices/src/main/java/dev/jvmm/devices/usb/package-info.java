/**
 * USB host controllers: the PIIX3's UHCI function ({@link dev.jvmm.devices.usb.Piix3Uhci}), which libvirt adds
 * to every pc domain. No USB devices are modelled, so its root ports stay empty and every transaction times
 * out as it would on a bus with nothing attached.
 */
package dev.jvmm.devices.usb;
