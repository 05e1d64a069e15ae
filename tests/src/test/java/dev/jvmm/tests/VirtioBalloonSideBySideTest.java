package dev.jvmm.tests;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tiny guest's balloon abuse (action=balloon-abuse, tests/guest/src/virtio_balloon.c) under QEMU and jvmm
 * with the same command line: page numbers past RAM, in the APIC and PCI holes, the BIOS ROM and far beyond
 * 4 GiB, trailing bytes, a 2-byte buffer, a device-writable buffer, a page number split over two descriptors,
 * odd statistics buffers and a second one while the first is kept, odd-sized writes of actual. The guest must
 * see the same thing on both (RAM pages discarded and read back as zero, the rest ignored) and the device must
 * keep working; features and configuration as QEMU offers them, with and without deflate-on-oom and page-poison.
 */
class VirtioBalloonSideBySideTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"", ",deflate-on-oom=on", ",deflate-on-oom=on,page-poison=off", ",free-page-reporting=on"})
    void abuseIsIgnoredSafely(String props) {
        String append = "action=balloon-abuse";
        String[] args = {"-device", "virtio-balloon-pci,disable-legacy=on" + props};
        GuestPair p = GuestPair.run(TIMEOUT, append, args, args, TinyGuest.EXIT_PASSED);
        String features = "balloon: features STATS_VQ" + (props.contains("deflate-on-oom=on") ? " DEFLATE_ON_OOM" : "")
                + (props.contains("page-poison=off") ? "" : " PAGE_POISON")
                + (props.contains("free-page-reporting=on") ? " REPORTING" : "") + " INDIRECT_DESC EVENT_IDX VERSION_1\n";
        String config = props.contains("page-poison=off")
                ? "balloon: config 0x00000000 0x00000000 0xffffffff 0xffffffff 0xffffffff\n"
                : "balloon: config 0x00000000 0x00000000 0x00000000 0x00000000 0xffffffff\n";
        assertEquals(TinyGuest.header(TinyGuest.Format.PVH, append, 128)
                + "balloon: pci 00:02.0\n" + features
                + "balloon: queues " + (props.contains("free-page-reporting=on") ? 4 : 3) + "\n" + config
                + "balloon-abuse: bogus page numbers: used len 0\n"
                + "balloon-abuse: ram pages zero, writable-buffer page intact, split page zero\n"
                + "balloon-abuse: second stats buffer returned the first: yes\n"
                + "balloon-abuse: actual 0x00010002 num_pages 0x00000000\n"
                + "balloon-abuse: device works, page zero\n", p.qemu().stdout(), "QEMU's output");
        p.assertSame(j -> "jvmm status " + j.status() + ", stderr: " + j.stderr());
    }
}
