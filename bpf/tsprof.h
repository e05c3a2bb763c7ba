/* The one ABI between the BPF programs, the addon and the TypeScript decoder.
 * Every struct here is read by source/kernel/abi.ts at offsets that a test
 * checks against the addon's own sizeof/offsetof (test/kernel/abi.test.ts).
 * Keep fields naturally aligned and explicitly padded so the layout is the
 * same for clang -target bpf and for the host compiler. */
#ifndef TSPROF_H
#define TSPROF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TSPROF_COMM_LEN 16
#define TSPROF_FILENAME_LEN 256
#define TSPROF_MAX_STACK_DEPTH 127
/* Two sets of (counts, stacks) maps: the programs write one while user space
 * drains the other, so a drain never races with a writer. */
#define TSPROF_BUFFERS 2
#define TSPROF_COUNTS_ENTRIES 16384
#define TSPROF_STACK_ENTRIES 16384
#define TSPROF_EVENTS_BYTES (1 << 20)
/* The most user stack one sample copies (the budget itself is set at load,
 * up to this). Copies start at the user sp and stop at the budget or at the
 * first page that cannot be read: the end of the stack mapping. */
#define TSPROF_STACK_COPY_MAX 16384
#define TSPROF_PAGE_SIZE 4096
/* The per-CPU scratch a sample is assembled in: header, the stack copy, then
 * the kernel stack, whose start follows the copy's length. */
#define TSPROF_SAMPLE_SCRATCH (TSPROF_STACK_COPY_MAX + TSPROF_PAGE_SIZE + TSPROF_MAX_STACK_DEPTH * 8)

/* Key of the in-kernel sample counts. (pid, start_ns) names a process even
 * when its pid is reused; exec_id (task->self_exec_id) tells the images of
 * one process apart across exec, so a sample taken just before exec is never
 * symbolized against the new binary. */
struct tsprof_count_key {
	__u32 pid;
	__u32 tid;
	__u64 start_ns;
	__u64 exec_id;
	__s32 ustack_id;
	__s32 kstack_id;
};

/* tsprof_sample.flags */
enum tsprof_sample_flags {
	/* ip/sp/bp hold the thread's user registers (a kernel thread has none). */
	TSPROF_SAMPLE_USER_REGS = 1,
	/* The copy stopped at the budget, not at the end of the stack: an
	 * unwind that runs off its end was cut short by the budget. */
	TSPROF_SAMPLE_COPY_BUDGET = 2,
	/* The copy stopped at a page that could not be read before the budget
	 * (normally the end of the stack mapping). */
	TSPROF_SAMPLE_COPY_FAULT = 4,
};

/* One CPU sample, sent whole through the samples ring buffer, so that user
 * space can unwind it later against what it captured of the process
 * (ARCHITECTURE.md, Principles: 7). In the ring it is followed by
 * stack_bytes of user stack, the first byte at address sp, then kstack_nr
 * kernel instruction pointers (u64, innermost first). stack_bytes is a
 * multiple of 8. */
struct tsprof_sample {
	__u64 ktime_ns;
	__u64 start_ns;
	__u64 exec_id;
	__u32 pid;
	__u32 tid;
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u32 flags;
	__u32 stack_bytes;
	__u32 kstack_nr;
	__u32 pad;
};

enum tsprof_event_type {
	TSPROF_EVENT_EXEC = 1,
	TSPROF_EVENT_EXIT = 2,
	TSPROF_EVENT_FORK = 3,
};

/* A process lifecycle event, sent through the ring buffer. */
struct tsprof_event {
	__u64 ktime_ns;
	__u64 start_ns;
	__u64 exec_id;
	__u32 type;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	char comm[TSPROF_COMM_LEN];
	/* Only for exec: the path given to execve. */
	char filename[TSPROF_FILENAME_LEN];
};

/* Counters the programs keep in .bss; cumulative since load. */
struct tsprof_kstats {
	__u64 samples;
	/* The counts map was full: the sample is lost. */
	__u64 lost_count_full;
	/* bpf_get_stackid failed for a reason other than "no such stack". */
	__u64 lost_ustack;
	__u64 lost_kstack;
	/* The ring buffer had no room for a lifecycle event. */
	__u64 lost_events;
	/* The samples ring had no room for a sample: the sample is lost. */
	__u64 lost_sample_ring;
	/* User stack bytes copied, over all samples. */
	__u64 stack_bytes;
};

/* One drain of the kernel buffers, as the addon hands it to JavaScript:
 *   header | events[n_events] | counts[n_counts] | stacks | sideband | samples
 * stacks: n_stacks records of tsprof_stack_rec followed by nr u64 ips.
 * sideband: n_sideband_chunks of tsprof_sideband_chunk, each followed by
 * `bytes` of raw perf records (PERF_RECORD_*), in the ring's own order.
 * samples: n_samples records of tsprof_sample, each followed by its stack
 * bytes and kernel ips (see tsprof_sample), in the ring's order. */
struct tsprof_drain_header {
	__u32 magic;
	__u32 version;
	/* CLOCK_MONOTONIC when the drain started: everything that happened
	 * before it is in this drain or an earlier one. */
	__u64 drain_ktime_ns;
	struct tsprof_kstats kstats;
	__u32 n_events;
	__u32 n_counts;
	__u32 n_stacks;
	__u32 n_sideband_chunks;
	__u32 n_samples;
	__u32 pad;
	/* Map cleanup counts, cumulative (ARCHITECTURE.md, Principles: 5). */
	__u64 batch_deletes;
	__u64 fallback_deletes;
	__u64 delete_failures;
	/* Entries that could not be read back (a stack id gone missing). */
	__u64 lost_stack_reads;
};

struct tsprof_count_rec {
	struct tsprof_count_key key;
	__u64 count;
};

struct tsprof_stack_rec {
	__s32 id;
	__u32 nr;
};

struct tsprof_sideband_chunk {
	__u32 cpu;
	__u32 bytes;
};

#define TSPROF_DRAIN_MAGIC 0x7473706Fu /* "tspo" */
#define TSPROF_DRAIN_VERSION 2

#endif
