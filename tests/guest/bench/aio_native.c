/*
 * The host's own disk figures for VirtioBlkBenchmarkTest, fio-style: Linux AIO (io_setup/io_submit/io_getevents
 * through syscall(2), so no libaio headers are needed) on an O_DIRECT descriptor, `depth` requests in flight,
 * the same request sizes and offsets as the tiny guest's action=blk-mq (LCG-random 4 KiB-aligned or sequential).
 *   aio-native FILE randread|randwrite|seqread|seqwrite BYTES DEPTH COUNT
 * prints "aio-native: <op> done COUNT x BYTES bytes in T us lat L ns" (mean completion latency).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 1024

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct iocb cbs[MAX_DEPTH];
static uint64_t started[MAX_DEPTH];

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: aio-native FILE randread|randwrite|seqread|seqwrite BYTES DEPTH COUNT\n");
        return 2;
    }
    const char *op = argv[2];
    int write = strstr(op, "write") != NULL, random = strncmp(op, "rand", 4) == 0;
    unsigned bytes = (unsigned)atoi(argv[3]), depth = (unsigned)atoi(argv[4]), count = (unsigned)atoi(argv[5]);
    if (depth < 1 || depth > MAX_DEPTH || bytes == 0 || bytes % 512) {
        fprintf(stderr, "aio-native: bad depth or size\n");
        return 2;
    }
    int fd = open(argv[1], (write ? O_RDWR : O_RDONLY) | O_DIRECT);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    uint32_t range = (uint32_t)(st.st_size / 512), sectors = bytes / 512, lcg = 12345, seq = 0;
    char *buf;
    if (posix_memalign((void **)&buf, 4096, (size_t)bytes * depth)) {
        return 1;
    }
    memset(buf, 0x5a, (size_t)bytes * depth);
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, depth, &ctx) != 0) {
        perror("io_setup");
        return 1;
    }
    struct io_event events[MAX_DEPTH];
    struct iocb *list[1];
    unsigned issued = 0, done = 0;
    uint64_t lat = 0, t0 = now_ns();
    for (unsigned slot = 0; done < count;) {
        while (issued < count && issued - done < depth) {
            uint32_t sector;
            if (random) {
                lcg = lcg * 1664525u + 1013904223u;
                sector = ((lcg >> 8) % (range / sectors)) * sectors;
            } else {
                sector = seq;
                seq += sectors;
                if (seq + sectors > range)
                    seq = 0;
            }
            struct iocb *cb = &cbs[slot];
            memset(cb, 0, sizeof(*cb));
            cb->aio_data = slot;
            cb->aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
            cb->aio_fildes = (uint32_t)fd;
            cb->aio_buf = (uint64_t)(uintptr_t)(buf + (size_t)slot * bytes);
            cb->aio_nbytes = bytes;
            cb->aio_offset = (int64_t)sector * 512;
            list[0] = cb;
            started[slot] = now_ns();
            if (syscall(SYS_io_submit, ctx, 1, list) != 1) {
                perror("io_submit");
                return 1;
            }
            issued++;
            /* the next free slot: slots free up as completions come back, found by a scan of the ring */
            for (unsigned n = 0; n < depth && issued - done < depth; n++) {
                slot = (slot + 1) % depth;
                if (started[slot] == 0)
                    break;
            }
        }
        long n = syscall(SYS_io_getevents, ctx, 1, depth, events, NULL);
        if (n < 0) {
            perror("io_getevents");
            return 1;
        }
        uint64_t end = now_ns();
        for (long i = 0; i < n; i++) {
            unsigned s = (unsigned)events[i].data;
            if (events[i].res != (int64_t)bytes) {
                fprintf(stderr, "aio-native: request failed: %lld\n", (long long)events[i].res);
                return 1;
            }
            lat += end - started[s];
            started[s] = 0;
            slot = s;
            done++;
        }
    }
    uint64_t us = (now_ns() - t0) / 1000;
    printf("aio-native: %s done %u x %u bytes in %llu us lat %llu ns\n", op, count, bytes, (unsigned long long)us,
           (unsigned long long)(lat / count));
    return 0;
}
