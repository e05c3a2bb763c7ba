// SPDX-License-Identifier: GPL-2.0
/* tsprof's kernel side: a cpu-clock sampler that counts stacks in a map, and
 * exec/exit/fork tracepoints that send timestamped events to user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tsprof.h"

char LICENSE[] SEC("license") = "GPL";

/* Off until user space has attached every program (DESIGN.md principle 1). */
volatile __u32 armed;
/* Which of the TSPROF_BUFFERS sets the sampler writes now. */
volatile __u32 active;
struct tsprof_kstats kstats;

/* Preallocated: the program runs in interrupt context, where allocating a
 * fresh element on every new key cost about a third more per sample. */
#define COUNTS_MAP(name)                                   \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                   \
		__uint(max_entries, TSPROF_COUNTS_ENTRIES);        \
		__type(key, struct tsprof_count_key);              \
		__type(value, __u64);                              \
	} name SEC(".maps")

#define STACKS_MAP(name)                                   \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);            \
		__uint(max_entries, TSPROF_STACK_ENTRIES);         \
		__uint(key_size, sizeof(__u32));                   \
		__uint(value_size, TSPROF_MAX_STACK_DEPTH * sizeof(__u64)); \
	} name SEC(".maps")

COUNTS_MAP(counts0);
COUNTS_MAP(counts1);
STACKS_MAP(stacks0);
STACKS_MAP(stacks1);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TSPROF_EVENTS_BYTES);
} events SEC(".maps");

static __always_inline void count_sample(void *counts, struct tsprof_count_key *key)
{
	__u64 one = 1, *value;

	value = bpf_map_lookup_elem(counts, key);
	if (value) {
		__sync_fetch_and_add(value, 1);
		return;
	}
	if (bpf_map_update_elem(counts, key, &one, BPF_NOEXIST) == 0)
		return;
	/* Another CPU inserted the same key between our lookup and update. */
	value = bpf_map_lookup_elem(counts, key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		__sync_fetch_and_add(&kstats.lost_count_full, 1);
}

/* -EFAULT means "no stack of this kind here" (a kernel thread has no user
 * stack, a sample in user mode has no kernel stack): not a loss. */
static __always_inline void note_stack_error(__s32 id, __u64 *lost)
{
	if (id < 0 && id != -14)
		__sync_fetch_and_add(lost, 1);
}

SEC("perf_event")
int on_cpu_clock(struct bpf_perf_event_data *ctx)
{
	struct tsprof_count_key key = {};
	struct task_struct *task;
	__u64 id;

	if (!armed)
		return 0;
	id = bpf_get_current_pid_tgid();
	key.pid = id >> 32;
	key.tid = (__u32)id;
	if (key.tid == 0)
		return 0; /* the idle task */
	/* A BTF pointer reads fields with plain loads, not a helper call each. */
	task = bpf_get_current_task_btf();
	key.start_ns = task->group_leader->start_time;
	key.exec_id = task->self_exec_id;
	__sync_fetch_and_add(&kstats.samples, 1);

	if (active & 1) {
		key.kstack_id = bpf_get_stackid(ctx, &stacks1, 0);
		key.ustack_id = bpf_get_stackid(ctx, &stacks1, BPF_F_USER_STACK);
		note_stack_error(key.kstack_id, &kstats.lost_kstack);
		note_stack_error(key.ustack_id, &kstats.lost_ustack);
		count_sample(&counts1, &key);
	} else {
		key.kstack_id = bpf_get_stackid(ctx, &stacks0, 0);
		key.ustack_id = bpf_get_stackid(ctx, &stacks0, BPF_F_USER_STACK);
		note_stack_error(key.kstack_id, &kstats.lost_kstack);
		note_stack_error(key.ustack_id, &kstats.lost_ustack);
		count_sample(&counts0, &key);
	}
	return 0;
}

static __always_inline struct tsprof_event *reserve_event(__u32 type, struct task_struct *task)
{
	struct tsprof_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&kstats.lost_events, 1);
		return 0;
	}
	e->ktime_ns = bpf_ktime_get_ns();
	e->type = type;
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->exec_id = BPF_CORE_READ(task, self_exec_id);
	e->filename[0] = 0;
	return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tsprof_event *e;

	if (!armed)
		return 0;
	e = reserve_event(TSPROF_EVENT_EXEC, task);
	if (!e)
		return 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	/* Wakeups cost ~20 us here; user space drains on a timer instead. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tsprof_event *e;

	if (!armed)
		return 0;
	/* New threads fire this too; only new processes matter here. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	e = reserve_event(TSPROF_EVENT_FORK, child);
	if (!e)
		return 0;
	e->ppid = BPF_CORE_READ(parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct tsprof_event *e;

	if (!armed)
		return 0;
	/* The leader may exit before its threads; the process ends with the
	 * last thread, when signal->live has dropped to zero. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	e = reserve_event(TSPROF_EVENT_EXIT, task);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}
