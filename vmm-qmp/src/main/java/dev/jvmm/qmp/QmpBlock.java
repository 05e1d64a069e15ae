package dev.jvmm.qmp;

import dev.jvmm.core.block.BlockControl;
import dev.jvmm.core.block.BlockDeviceInfo;
import dev.jvmm.core.block.BlockDeviceStats;
import dev.jvmm.core.block.BlockGraph;
import dev.jvmm.core.block.BlockdevOptions;
import dev.jvmm.core.block.BlockImageInfo;
import dev.jvmm.core.block.BlockInfo;
import dev.jvmm.core.block.BlockStatsInfo;
import dev.jvmm.core.block.DriveCache;
import dev.jvmm.core.event.VmEvent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * The block commands (query-block, query-blockstats, query-named-block-nodes, block_resize, the removable
 * media commands eject, blockdev-open-tray, blockdev-close-tray, blockdev-remove-medium, blockdev-insert-medium,
 * blockdev-change-medium, and blockdev-add/blockdev-del, which insert-medium needs for its node) and the
 * BLOCK_IO_ERROR and DEVICE_TRAY_MOVED events, with QEMU 7.2's member sets; members are listed in QAPI declaration order and
 * {@link QDictOrder} puts them in QEMU's wire order.
 */
final class QmpBlock {
    private QmpBlock() {
    }

    static void declare(Schema s, BlockControl b) {
        QType.Enum ioStatus = new QType.Enum("BlockDeviceIoStatus", List.of("ok", "failed", "nospace"));
        QType.Struct cache = QType.struct("BlockdevCacheInfo", req("writeback", QType.BOOL),
                req("direct", QType.BOOL), req("no-flush", QType.BOOL));
        QType.Struct image = QType.struct("ImageInfo", req("filename", QType.STR), req("format", QType.STR),
                opt("dirty-flag", QType.BOOL), opt("actual-size", QType.INT), req("virtual-size", QType.INT),
                opt("cluster-size", QType.INT), opt("encrypted", QType.BOOL), opt("compressed", QType.BOOL),
                opt("backing-filename", QType.STR), opt("full-backing-filename", QType.STR),
                opt("backing-filename-format", QType.STR), opt("backing-image", QType.ANY),
                opt("format-specific", QType.ANY));
        QType.Struct deviceInfo = QType.struct("BlockDeviceInfo", req("file", QType.STR),
                opt("node-name", QType.STR), req("ro", QType.BOOL), req("drv", QType.STR),
                opt("backing_file", QType.STR), req("backing_file_depth", QType.INT), req("encrypted", QType.BOOL),
                req("detect_zeroes", QType.STR), req("bps", QType.INT), req("bps_rd", QType.INT),
                req("bps_wr", QType.INT), req("iops", QType.INT), req("iops_rd", QType.INT),
                req("iops_wr", QType.INT), req("image", image), req("write_threshold", QType.INT),
                req("cache", cache));
        s.command("query-block", QmpCommands.NO_ARGS, QType.array(QType.struct("BlockInfo",
                req("device", QType.STR), opt("qdev", QType.STR), req("type", QType.STR),
                req("removable", QType.BOOL), req("locked", QType.BOOL), opt("inserted", deviceInfo),
                opt("tray_open", QType.BOOL), opt("io-status", ioStatus))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (BlockInfo i : b.queryBlock()) {
                        out.add(blockInfo(i));
                    }
                    return out;
                });
        QType.Struct stats = QType.struct("BlockDeviceStats", req("rd_bytes", QType.INT),
                req("wr_bytes", QType.INT), req("unmap_bytes", QType.INT), req("rd_operations", QType.INT),
                req("wr_operations", QType.INT), req("flush_operations", QType.INT),
                req("unmap_operations", QType.INT), req("rd_total_time_ns", QType.INT),
                req("wr_total_time_ns", QType.INT), req("flush_total_time_ns", QType.INT),
                req("unmap_total_time_ns", QType.INT), req("wr_highest_offset", QType.INT),
                req("rd_merged", QType.INT), req("wr_merged", QType.INT), req("unmap_merged", QType.INT),
                opt("idle_time_ns", QType.INT), req("failed_rd_operations", QType.INT),
                req("failed_wr_operations", QType.INT), req("failed_flush_operations", QType.INT),
                req("failed_unmap_operations", QType.INT), req("invalid_rd_operations", QType.INT),
                req("invalid_wr_operations", QType.INT), req("invalid_flush_operations", QType.INT),
                req("invalid_unmap_operations", QType.INT), req("account_invalid", QType.BOOL),
                req("account_failed", QType.BOOL), req("timed_stats", QType.array(QType.ANY)));
        s.command("query-blockstats", QType.struct("q_obj_query-blockstats-arg", opt("query-nodes", QType.BOOL)),
                QType.array(QType.struct("BlockStats", opt("device", QType.STR), opt("qdev", QType.STR),
                        opt("node-name", QType.STR), req("stats", stats), opt("driver-specific", QType.ANY),
                        opt("parent", QType.ANY), opt("backing", QType.ANY))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (BlockStatsInfo i : b.queryBlockstats(Boolean.TRUE.equals(a.get("query-nodes")))) {
                        out.add(blockStats(i));
                    }
                    return out;
                });
        s.command("query-named-block-nodes", QType.struct("q_obj_query-named-block-nodes-arg",
                opt("flat", QType.BOOL)), QType.array(deviceInfo), a -> {
                    List<Object> out = new ArrayList<>();
                    for (BlockDeviceInfo d : b.queryNamedBlockNodes(Boolean.TRUE.equals(a.get("flat")))) {
                        out.add(deviceInfo(d));
                    }
                    return out;
                });
        s.action("block_resize", QType.struct("q_obj_block_resize-arg", opt("device", QType.STR),
                opt("node-name", QType.STR), req("size", QType.INT)), a -> b.blockResize((String) a.get("device"),
                        (String) a.get("node-name"), a.get("size") instanceof Long l ? l : -1));
        declareMedia(s, b);
        // jvmm runs no background jobs (no mirror, commit, stream or backup), so the list is always empty;
        // libvirt asks for it when it reconnects to a running domain and refuses a domain that has no answer.
        s.command("query-jobs", QmpCommands.NO_ARGS, QType.array(QType.struct("JobInfo", req("id", QType.STR),
                req("type", new QType.Enum("JobType", List.of("commit", "stream", "mirror", "backup", "create",
                        "amend", "snapshot-load", "snapshot-save", "snapshot-delete"))),
                req("status", new QType.Enum("JobStatus", List.of("undefined", "created", "running", "paused",
                        "ready", "standby", "waiting", "pending", "aborting", "concluded", "null"))),
                req("current-progress", QType.INT), req("total-progress", QType.INT),
                opt("error", QType.STR))), a -> List.of());
        s.event("BLOCK_IO_ERROR", QType.struct("q_obj_BLOCK_IO_ERROR-arg", req("device", QType.STR),
                opt("node-name", QType.STR), req("operation", new QType.Enum("IoOperationType",
                        List.of("read", "write"))), req("action", new QType.Enum("BlockErrorAction",
                        List.of("ignore", "report", "stop"))), opt("nospace", QType.BOOL),
                req("reason", QType.STR)));
    }

    /** QEMU 7.2's qapi/block.json and block-core.json declarations of the medium commands. */
    private static void declareMedia(Schema s, BlockControl b) {
        s.action("eject", QType.struct("q_obj_eject-arg", opt("device", QType.STR), opt("id", QType.STR),
                opt("force", QType.BOOL)), a -> b.eject((String) a.get("device"), (String) a.get("id"),
                        Boolean.TRUE.equals(a.get("force"))));
        s.action("blockdev-open-tray", QType.struct("q_obj_blockdev-open-tray-arg", opt("device", QType.STR),
                opt("id", QType.STR), opt("force", QType.BOOL)), a -> b.openTray((String) a.get("device"),
                        (String) a.get("id"), Boolean.TRUE.equals(a.get("force"))));
        s.action("blockdev-close-tray", QType.struct("q_obj_blockdev-close-tray-arg", opt("device", QType.STR),
                opt("id", QType.STR)), a -> b.closeTray((String) a.get("device"), (String) a.get("id")));
        s.action("blockdev-remove-medium", QType.struct("q_obj_blockdev-remove-medium-arg", req("id", QType.STR)),
                a -> b.removeMedium(null, (String) a.get("id")));
        s.action("blockdev-insert-medium", QType.struct("q_obj_blockdev-insert-medium-arg", req("id", QType.STR),
                req("node-name", QType.STR)), a -> b.insertMedium((String) a.get("id"), (String) a.get("node-name")));
        QType.Enum roMode = new QType.Enum("BlockdevChangeReadOnlyMode", List.of("retain", "read-only",
                "read-write"));
        s.action("blockdev-change-medium", QType.struct("q_obj_blockdev-change-medium-arg",
                opt("device", QType.STR), opt("id", QType.STR), req("filename", QType.STR), opt("format", QType.STR),
                opt("force", QType.BOOL), opt("read-only-mode", roMode)), a -> b.changeMedium(
                        (String) a.get("device"), (String) a.get("id"), (String) a.get("filename"),
                        (String) a.get("format"), Boolean.TRUE.equals(a.get("force")),
                        a.get("read-only-mode") == null ? null
                                : BlockGraph.ReadOnlyMode.of((String) a.get("read-only-mode"))));
        // BlockdevOptions: QEMU's flat union by driver, here the union of the members jvmm's drivers take
        // (each driver's own set is checked by the graph, with the same "is unexpected" text).
        QType.Struct cacheOpts = QType.struct("BlockdevCacheOptions", opt("direct", QType.BOOL),
                opt("no-flush", QType.BOOL));
        s.action("blockdev-add", QType.struct("BlockdevOptions",
                req("driver", new QType.Enum("BlockdevDriver", List.of("blkdebug", "file", "qcow2", "raw"))),
                opt("node-name", QType.STR),
                opt("discard", new QType.Enum("BlockdevDiscardOptions", List.of("ignore", "unmap"))),
                opt("cache", cacheOpts), opt("read-only", QType.BOOL), opt("auto-read-only", QType.BOOL),
                opt("force-share", QType.BOOL),
                opt("detect-zeroes", new QType.Enum("BlockdevDetectZeroesOptions", List.of("off", "on", "unmap"))),
                opt("filename", QType.STR), opt("locking", QType.STR), opt("aio", QType.STR),
                opt("aio-max-batch", QType.INT), opt("drop-cache", QType.BOOL),
                opt("x-check-cache-dropped", QType.BOOL), opt("pr-manager", QType.STR),
                opt("file", QType.ANY), opt("offset", QType.INT), opt("size", QType.INT),
                opt("backing", QType.ANY), opt("lazy-refcounts", QType.BOOL),
                opt("pass-discard-request", QType.BOOL), opt("pass-discard-snapshot", QType.BOOL),
                opt("pass-discard-other", QType.BOOL), opt("discard-no-unref", QType.BOOL),
                opt("overlap-check", QType.ANY), opt("cache-size", QType.INT), opt("l2-cache-size", QType.INT),
                opt("l2-cache-entry-size", QType.INT), opt("refcount-cache-size", QType.INT),
                opt("cache-clean-interval", QType.INT), opt("data-file", QType.ANY),
                opt("image", QType.ANY), opt("config", QType.STR), opt("align", QType.INT),
                opt("max-transfer", QType.INT), opt("opt-write-zero", QType.INT), opt("max-write-zero", QType.INT),
                opt("opt-discard", QType.INT), opt("max-discard", QType.INT), opt("inject-error", QType.ANY),
                opt("set-state", QType.ANY), opt("take-child-perms", QType.ANY),
                opt("unshare-child-perms", QType.ANY)), a -> b.blockdevAdd(tree(a)));
        s.action("blockdev-del", QType.struct("q_obj_blockdev-del-arg", req("node-name", QType.STR)),
                a -> b.blockdevDel((String) a.get("node-name")));
        s.event("DEVICE_TRAY_MOVED", QType.struct("q_obj_DEVICE_TRAY_MOVED-arg", req("device", QType.STR),
                req("id", QType.STR), req("tray-open", QType.BOOL)));
    }

    /** QMP arguments as the block layer's -blockdev tree: JSON null becomes BlockdevOptions.NULL. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> tree(Map<String, Object> args) {
        Map<String, Object> out = new LinkedHashMap<>();
        args.forEach((k, v) -> out.put(k, treeValue(v)));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Object treeValue(Object v) {
        if (v == Json.NULL) {
            return BlockdevOptions.NULL;
        }
        if (v instanceof Map<?, ?> m) {
            return tree((Map<String, Object>) m);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object e : l) {
                out.add(treeValue(e));
            }
            return out;
        }
        return v;
    }

    /** DEVICE_TRAY_MOVED's data in QEMU's member order. */
    static Map<String, Object> trayMoved(VmEvent.DeviceTrayMoved e) {
        return QDictOrder.of("device", e.device(), "id", e.id(), "tray-open", e.trayOpen());
    }

    static Map<String, Object> blockInfo(BlockInfo b) {
        return QDictOrder.of("device", b.device(), "qdev", b.qdev(), "type", BlockInfo.TYPE,
                "removable", b.removable(), "locked", b.locked(),
                "inserted", b.inserted() == null ? null : deviceInfo(b.inserted()),
                "tray_open", b.trayOpen(),
                "io-status", b.ioStatus() == null ? null : b.ioStatus().qapiName());
    }

    static Map<String, Object> deviceInfo(BlockDeviceInfo d) {
        return QDictOrder.of("file", d.file(), "node-name", d.nodeName(), "ro", d.ro(), "drv", d.drv(),
                "backing_file", d.backingFile(), "backing_file_depth", (long) d.backingFileDepth(),
                "encrypted", d.encrypted(), "detect_zeroes", d.detectZeroes(), "bps", 0L, "bps_rd", 0L,
                "bps_wr", 0L, "iops", 0L, "iops_rd", 0L, "iops_wr", 0L, "image", image(d.image()),
                "write_threshold", d.writeThreshold(), "cache", cache(d.cache()));
    }

    static Map<String, Object> cache(DriveCache c) {
        return QDictOrder.of("writeback", c.writeback(), "direct", c.direct(), "no-flush", c.noFlush());
    }

    static Map<String, Object> image(BlockImageInfo i) {
        Map<String, Object> specific = null;
        if (i.qcow2() != null) {
            BlockImageInfo.Qcow2Info q = i.qcow2();
            Map<String, Object> data = q.v3()
                    ? QDictOrder.of("compat", q.compat(), "lazy-refcounts", q.lazyRefcounts(), "corrupt",
                            q.corrupt(), "refcount-bits", (long) q.refcountBits(), "extended-l2", q.extendedL2(),
                            "compression-type", q.compressionType())
                    : QDictOrder.of("compat", q.compat(), "refcount-bits", (long) q.refcountBits(),
                            "compression-type", q.compressionType());
            specific = QDictOrder.of("type", "qcow2", "data", data);
        }
        return QDictOrder.of("filename", i.filename(), "format", i.format(), "dirty-flag", i.dirtyFlag(),
                "actual-size", i.actualSize() < 0 ? null : i.actualSize(), "virtual-size", i.virtualSize(),
                "cluster-size", i.clusterSize() < 0 ? null : i.clusterSize(),
                "backing-filename", i.backingFilename(), "full-backing-filename", i.fullBackingFilename(),
                "backing-filename-format", i.backingFormat(),
                "backing-image", i.backingImage() == null ? null : image(i.backingImage()),
                "format-specific", specific);
    }

    static Map<String, Object> blockStats(BlockStatsInfo b) {
        Map<String, Object> driverSpecific = null;
        if (b.fileDriverStats() != null) {
            BlockStatsInfo.FileDriverStats f = b.fileDriverStats();
            driverSpecific = QDictOrder.of("driver", "file", "discard-nb-ok", f.discardNbOk(), "discard-nb-failed",
                    f.discardNbFailed(), "discard-bytes-ok", f.discardBytesOk());
        }
        return QDictOrder.of("device", b.device(), "qdev", b.qdev(), "node-name", b.nodeName(),
                "stats", stats(b.stats()), "driver-specific", driverSpecific,
                "parent", b.parent() == null ? null : blockStats(b.parent()),
                "backing", b.backing() == null ? null : blockStats(b.backing()));
    }

    static Map<String, Object> stats(BlockDeviceStats s) {
        return QDictOrder.of("rd_bytes", s.rdBytes(), "wr_bytes", s.wrBytes(), "unmap_bytes", s.unmapBytes(),
                "rd_operations", s.rdOperations(), "wr_operations", s.wrOperations(),
                "flush_operations", s.flushOperations(), "unmap_operations", s.unmapOperations(),
                "rd_total_time_ns", s.rdTotalTimeNs(), "wr_total_time_ns", s.wrTotalTimeNs(),
                "flush_total_time_ns", s.flushTotalTimeNs(), "unmap_total_time_ns", s.unmapTotalTimeNs(),
                "wr_highest_offset", s.wrHighestOffset(), "rd_merged", s.rdMerged(), "wr_merged", s.wrMerged(),
                "unmap_merged", s.unmapMerged(), "idle_time_ns", s.hasIdleTime() ? s.idleTimeNs() : null,
                "failed_rd_operations", s.failedRdOperations(), "failed_wr_operations", s.failedWrOperations(),
                "failed_flush_operations", s.failedFlushOperations(),
                "failed_unmap_operations", s.failedUnmapOperations(),
                "invalid_rd_operations", s.invalidRdOperations(), "invalid_wr_operations", s.invalidWrOperations(),
                "invalid_flush_operations", s.invalidFlushOperations(),
                "invalid_unmap_operations", s.invalidUnmapOperations(), "account_invalid", s.accountInvalid(),
                "account_failed", s.accountFailed(), "timed_stats", new ArrayList<>());
    }

    /** BLOCK_IO_ERROR's data. QEMU sends "nospace" when the drive tracks io-status, which every jvmm disk does. */
    static Map<String, Object> ioError(VmEvent.BlockIoError e) {
        return QDictOrder.of("device", e.device(), "node-name", e.nodeName(), "operation", e.operation(),
                "action", e.action(), "nospace", e.nospace(), "reason", e.reason());
    }
}
