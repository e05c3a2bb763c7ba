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
/* Off-CPU: threads that can be blocked at once, and the depth of each of
 * the two stacks (kernel, user) taken at switch-out. */
#define TSPROF_OFFCPU_THREADS 32768
#define TSPROF_OFFCPU_DEPTH 64
/* --pid: processes followed at once, those named and their descendants. */
#define TSPROF_FOLLOWED_PROCESSES 65536
/* The top of the user stack kept with each block: enough for the unwinder
 * to find the callers of a frameless libc wrapper (read, futex wait, ...),
 * where the frame-pointer walk skips a caller. */
#define TSPROF_OFFCPU_STACK 2048
#define TSPROF_EVENTS_BYTES (1 << 20)
/* The most user stack one sample copies (the budget itself is set at load,
 * up to this). Copies start at the user sp and stop at the budget, at the
 * main thread's outermost frame (just above mm->start_stack), or at the
 * first page that cannot be read: the end of the stack mapping. */
#define TSPROF_STACK_COPY_MAX 16384
#define TSPROF_PAGE_SIZE 4096
/* The per-CPU scratch a sample is assembled in: header, the stack copy, then
 * the kernel stack, whose start follows the copy's length. */
#define TSPROF_SAMPLE_SCRATCH (TSPROF_STACK_COPY_MAX + TSPROF_PAGE_SIZE + TSPROF_MAX_STACK_DEPTH * 8)

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

/* One block of one thread, from its switch-out to its switch-in, sent
 * through the off-CPU ring at switch-in. data holds stack_bytes of user
 * stack from sp, then kstack_nr kernel ips, then ustack_nr user ips walked
 * by frame pointers (u64, innermost first each); the ring carries the record
 * cut right after them. */
struct tsprof_offcpu {
	/* At switch-out while stored; at switch-in once sent. */
	__u64 ktime_ns;
	__u64 blocked_ns;
	__u64 start_ns;
	__u64 exec_id;
	__u32 pid;
	__u32 tid;
	/* The task state it switched out in (TASK_INTERRUPTIBLE, ...). */
	__u32 state;
	/* Runnable but taken off the CPU: waiting for a CPU, not for an event. */
	__u32 preempted;
	__u32 kstack_nr;
	__u32 ustack_nr;
	/* User registers at switch-out; ip is 0 for a kernel thread. */
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u32 stack_bytes;
	__u32 pad;
	__u8 data[TSPROF_OFFCPU_STACK + 2 * TSPROF_OFFCPU_DEPTH * 8];
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
	/* bpf_get_stack failed for a reason other than "no such stack". */
	__u64 lost_kstack;
	/* The ring buffer had no room for a lifecycle event. */
	__u64 lost_events;
	/* The samples ring had no room for a sample: the sample is lost. */
	__u64 lost_sample_ring;
	/* User stack bytes copied, over all samples. */
	__u64 stack_bytes;
	/* Off-CPU blocks sent, blocks lost to a full ring, and switch-outs not
	 * remembered because the per-thread map was full. */
	__u64 offcpu_blocks;
	__u64 lost_offcpu;
	__u64 offcpu_dropped;
};

/* One drain of the kernel buffers, as the addon hands it to JavaScript:
 *   header | events[n_events] | sideband | samples | offcpu
 * sideband: n_sideband_chunks of tsprof_sideband_chunk, each followed by
 * `bytes` of raw perf records (PERF_RECORD_*), in the ring's own order.
 * samples: n_samples records of tsprof_sample, each followed by its stack
 * bytes and kernel ips (see tsprof_sample), in the ring's order.
 * offcpu: n_offcpu tsprof_offcpu records as the ring carries them, each
 * padded to 8 bytes. */
struct tsprof_drain_header {
	__u32 magic;
	__u32 version;
	/* CLOCK_MONOTONIC when the drain started: everything that happened
	 * before it is in this drain or an earlier one. */
	__u64 drain_ktime_ns;
	struct tsprof_kstats kstats;
	__u32 n_events;
	__u32 n_sideband_chunks;
	__u32 n_samples;
	__u32 n_offcpu;
	/* Cleanup of the off-CPU start map: entries of threads that are gone,
	 * cumulative (ARCHITECTURE.md, Principles: 5). */
	__u64 batch_deletes;
	__u64 fallback_deletes;
	__u64 delete_failures;
};

struct tsprof_sideband_chunk {
	__u32 cpu;
	__u32 bytes;
};

#define TSPROF_DRAIN_MAGIC 0x7473706Fu /* "tspo" */
#define TSPROF_DRAIN_VERSION 3

#endif
