/* PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2): ports 0xCF8/0xCFC. */
#include "guest.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_CONFIG_ENABLE 0x80000000u

/* Type 0 header offsets (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_HEADER_TYPE 0x0e
#define PCI_HEADER_MULTI_FUNCTION 0x80

static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static void select_reg(u32 bdf, u32 off)
{
    outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | bdf << 8 | (off & 0xfc));
}

u32 pci_read32(u32 bdf, u32 off)
{
    select_reg(bdf, off);
    return inl(PCI_CONFIG_DATA);
}

u16 pci_read16(u32 bdf, u32 off)
{
    return (u16)(pci_read32(bdf, off) >> (8 * (off & 2)));
}

u8 pci_read8(u32 bdf, u32 off)
{
    return (u8)(pci_read32(bdf, off) >> (8 * (off & 3)));
}

void pci_write32(u32 bdf, u32 off, u32 v)
{
    select_reg(bdf, off);
    outl(PCI_CONFIG_DATA, v);
}

void pci_write16(u32 bdf, u32 off, u16 v)
{
    select_reg(bdf, off);
    outw((u16)(PCI_CONFIG_DATA + (off & 2)), v);
}

int pci_find(u16 vendor, const u16 *devices, u32 ndevices, u32 *bdf_out)
{
    for (u32 dev = 0; dev < 32; dev++) {
        for (u32 fn = 0; fn < 8; fn++) {
            u32 bdf = dev << 3 | fn;
            u32 id = pci_read32(bdf, PCI_VENDOR_ID);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if ((id & 0xffff) == vendor)
                for (u32 i = 0; i < ndevices; i++)
                    if (id >> 16 == devices[i]) {
                        *bdf_out = bdf;
                        return 1;
                    }
            if (fn == 0 && !(pci_read8(bdf, PCI_HEADER_TYPE) & PCI_HEADER_MULTI_FUNCTION))
                break;
        }
    }
    return 0;
}
