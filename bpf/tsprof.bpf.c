// SPDX-License-Identifier: GPL-2.0
/* tsprof's kernel side: a cpu-clock sampler that sends each sample (user
 * registers, a copy of the user stack, the kernel stack) through a ring
 * buffer; exec/exit/fork tracepoints that send timestamped events; and, when
 * asked for, a sched_switch program that measures where threads block. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tsprof.h"

char LICENSE[] SEC("license") = "GPL";

/* Off until user space has attached every program (ARCHITECTURE.md, Principles: 1). */
volatile __u32 armed;
struct tsprof_kstats kstats;
/* User stack bytes each sample copies, at most; set before load. */
const volatile __u32 stack_copy_bytes = TSPROF_STACK_COPY_MAX;
/* Off-CPU: blocks shorter than this are not reported; kernel threads only if asked. */
const volatile __u64 min_block_ns = 1000;
const volatile __u32 offcpu_kernel_threads = 0;
/* tsprof's own process: not sampled. Its samples would be unwound by
 * itself, a feedback loop that costs more than it tells (its header shows
 * its CPU); perf top's own cost is likewise not what users profile. */
const volatile __u32 self_tgid = 0;
/* --pid: only the processes in `followed` are sampled, so the others pay
 * nothing for a profile that would drop their samples anyway. */
const volatile __u32 follow_pids = 0;

/* The processes followed: filled before arming, each process a followed
 * one forks added at its fork, each removed at its exit. Allocated on use;
 * without --pid user space shrinks it to one entry before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TSPROF_FOLLOWED_PROCESSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

static __always_inline int is_followed(__u32 tgid)
{
	return bpf_map_lookup_elem(&followed, &tgid) != 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TSPROF_EVENTS_BYTES);
} events SEC(".maps");

/* Sized by user space before load from the rate, the CPUs and the budget. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} samples SEC(".maps");

struct sample_scratch {
	struct tsprof_sample hdr;
	__u8 data[TSPROF_SAMPLE_SCRATCH];
};

/* Off-CPU: where each blocked thread switched out, keyed by thread id, never
 * by process or a global slot (ARCHITECTURE.md, Principles: 4). Allocated on
 * use: only threads that are blocked now have an entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TSPROF_OFFCPU_THREADS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tsprof_offcpu);
} offcpu_start SEC(".maps");

/* Blocks, sent at switch-in. Sized by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} offcpu SEC(".maps");

/* Records go in without a wakeup (one costs ~20 us here): the poller reads
 * the rings on a one-second timer. A ring past a quarter full wakes it at
 * once, so a storm of records is read before the ring fills. */
static __always_inline __u64 wake_flags(void *ring)
{
	__u64 quarter = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 4;

	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) > quarter ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tsprof_offcpu);
} offcpu_scratch SEC(".maps");

/* A sample is assembled here, then sent at its true length. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_scratch);
} scratch SEC(".maps");

#define PF_KTHREAD 0x00200000
#define TASK_RUNNING 0
#define TASK_DEAD 0x80

static __always_inline void note_stack_error(long id, __u64 *lost)
{
	if (id < 0 && id != -14)
		__sync_fetch_and_add(lost, 1);
}

/* The bytes of user stack worth copying from sp, at most `budget`. The
 * main thread's outermost frame (_start's) lies just below mm->start_stack,
 * the word holding argc, and above it exec left only argv, envp and auxv:
 * often a page or more, and reading user memory costs here by the byte
 * (ARCHITECTURE.md, Cost). A few words past argc stay in the copy for an
 * unwinder that looks one word beyond _start. Any other stack (a thread's,
 * a signal or coroutine stack) lies far from start_stack and gets the whole
 * budget. Sets *whole when the main stack's end came first: the copy then
 * holds the whole stack, and reaching its length is no cut. */
#define TSPROF_STACK_END_SLACK 64
static __always_inline __u64 stack_copy_len(struct task_struct *task, __u64 sp, __u64 budget, int *whole)
{
	__u64 end = task->mm->start_stack + TSPROF_STACK_END_SLACK;

	*whole = end > sp && end - sp < budget;
	return *whole ? (end - sp + 7) & ~7ull : budget;
}

/* Copies the user stack from sp upwards into out: first to the end of sp's
 * page, then page by page, until stack_copy_len's length or the first page
 * that cannot be read. One read that crossed the end of the stack mapping
 * would fail whole, which is why it goes page by page. Returns the bytes
 * copied. */
static __always_inline __u32 copy_user_stack(__u8 *out, struct task_struct *task, __u64 sp, __u32 *flags)
{
	/* 64-bit: a 32-bit copy that the compiler zero-extends for the bounds
	 * check would leave the verifier unsure of the register passed on. */
	__u64 budget = stack_copy_bytes & ~7u;
	__u64 n = 0, len, want;
	__u64 addr = sp;
	int whole;

	if (budget > TSPROF_STACK_COPY_MAX)
		budget = TSPROF_STACK_COPY_MAX;
	budget = stack_copy_len(task, sp, budget, &whole);
	/* A whole budget from an sp inside a page takes one read more than it
	 * has pages, and one more turn then finds the budget reached. */
	for (int i = 0; i < TSPROF_STACK_COPY_MAX / TSPROF_PAGE_SIZE + 2; i++) {
		if (n >= budget) {
			if (!whole)
				*flags |= TSPROF_SAMPLE_COPY_BUDGET;
			break;
		}
		len = TSPROF_PAGE_SIZE - (addr & (TSPROF_PAGE_SIZE - 1));
		want = budget - n;
		if (len > want)
			len = want;
		/* Bounds the verifier can see on the very registers of the call. */
		barrier_var(len);
		barrier_var(n);
		if (len > TSPROF_PAGE_SIZE || n > TSPROF_STACK_COPY_MAX)
			break;
		if (bpf_probe_read_user(out + n, len, (void *)addr) != 0) {
			*flags |= TSPROF_SAMPLE_COPY_FAULT;
			break;
		}
		n += len;
		addr += len;
	}
	return n & ~7u;
}

SEC("perf_event")
int on_cpu_clock(struct bpf_perf_event_data *ctx)
{
	struct sample_scratch *s;
	struct task_struct *task;
	struct pt_regs *regs;
	__u32 zero = 0, n = 0;
	__u64 id, size;
	long k;

	if (!armed)
		return 0;
	id = bpf_get_current_pid_tgid();
	if ((__u32)id == 0)
		return 0; /* the idle task */
	if ((id >> 32) == self_tgid || (follow_pids && !is_followed(id >> 32)))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	__sync_fetch_and_add(&kstats.samples, 1);
	/* A BTF pointer reads fields with plain loads, not a helper call each. */
	task = bpf_get_current_task_btf();
	s->hdr.ktime_ns = bpf_ktime_get_ns();
	s->hdr.pid = id >> 32;
	s->hdr.tid = (__u32)id;
	s->hdr.start_ns = task->group_leader->start_time;
	s->hdr.exec_id = task->self_exec_id;
	s->hdr.flags = 0;
	s->hdr.ip = s->hdr.sp = s->hdr.bp = 0;
	/* The user registers, also when the sample hit inside a system call:
	 * task_pt_regs holds what the thread had when it entered the kernel. */
	if (!(task->flags & PF_KTHREAD) && task->mm) {
		regs = (struct pt_regs *)bpf_task_pt_regs(task);
		if (regs) {
			s->hdr.ip = regs->ip;
			s->hdr.sp = regs->sp;
			s->hdr.bp = regs->bp;
			s->hdr.flags |= TSPROF_SAMPLE_USER_REGS;
			n = copy_user_stack(s->data, task, s->hdr.sp, &s->hdr.flags);
		}
	}
	if (n > TSPROF_STACK_COPY_MAX)
		n = TSPROF_STACK_COPY_MAX;
	s->hdr.stack_bytes = n;
	k = bpf_get_stack(ctx, s->data + n, TSPROF_MAX_STACK_DEPTH * 8, 0);
	if (k < 0) {
		note_stack_error(k, &kstats.lost_kstack);
		k = 0;
	}
	s->hdr.kstack_nr = (__u32)k / 8;
	__sync_fetch_and_add(&kstats.stack_bytes, n);
	size = sizeof(s->hdr) + n + (__u64)s->hdr.kstack_nr * 8;
	if (size > sizeof(*s))
		size = sizeof(*s);
	if (bpf_ringbuf_output(&samples, s, size, wake_flags(&samples)) != 0)
		__sync_fetch_and_add(&kstats.lost_sample_ring, 1);
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
	bpf_ringbuf_submit(e, wake_flags(&events));
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
	/* Before the child can run, so its first sample is kept. A full map
	 * leaves the child unfollowed: a fork bomb past 65,536 live processes. */
	if (follow_pids && is_followed(BPF_CORE_READ(parent, tgid))) {
		__u32 child_tgid = BPF_CORE_READ(child, tgid);
		__u8 one = 1;

		bpf_map_update_elem(&followed, &child_tgid, &one, BPF_ANY);
	}
	e = reserve_event(TSPROF_EVENT_FORK, child);
	if (!e)
		return 0;
	e->ppid = BPF_CORE_READ(parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, wake_flags(&events));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct tsprof_event *e;
	__u32 tid;

	if (!armed)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	bpf_map_delete_elem(&offcpu_start, &tid);
	/* The leader may exit before its threads; the process ends with the
	 * last thread, when signal->live has dropped to zero. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (follow_pids) {
		__u32 tgid = BPF_CORE_READ(task, tgid);

		bpf_map_delete_elem(&followed, &tgid);
	}
	e = reserve_event(TSPROF_EVENT_EXIT, task);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	bpf_ringbuf_submit(e, wake_flags(&events));
	return 0;
}

/* Switch-out: remember when and where the thread stopped running. */
static __always_inline void switch_out(void *ctx, struct task_struct *prev, bool preempt, unsigned int prev_state)
{
	struct tsprof_offcpu *s;
	struct pt_regs *regs;
	__u32 zero = 0, tid = prev->pid;
	__u64 n = 0, k, u = 0;
	long r;
	int whole, kthread = prev->flags & PF_KTHREAD;

	if (tid == 0 || (kthread && !offcpu_kernel_threads) || prev->tgid == self_tgid ||
	    (follow_pids && !is_followed(prev->tgid)))
		return;
	/* A thread's last switch-out, on its way out of the kernel for good:
	 * nothing will switch it in again. */
	if (prev->exit_state || (prev_state & TASK_DEAD))
		return;
	s = bpf_map_lookup_elem(&offcpu_scratch, &zero);
	if (!s)
		return;
	s->ktime_ns = bpf_ktime_get_ns();
	s->blocked_ns = 0;
	s->pid = prev->tgid;
	s->tid = tid;
	s->start_ns = prev->group_leader->start_time;
	s->exec_id = prev->self_exec_id;
	s->state = prev_state;
	s->preempted = preempt || prev_state == TASK_RUNNING;
	s->ip = s->sp = s->bp = 0;
	if (!kthread && prev->mm) {
		regs = (struct pt_regs *)bpf_task_pt_regs(prev);
		if (regs) {
			s->ip = regs->ip;
			s->sp = regs->sp;
			s->bp = regs->bp;
			/* The window, less at the main stack's end. Near the top of
			 * another stack the whole window may not be mapped: then only
			 * up to the end of sp's page. */
			n = stack_copy_len(prev, s->sp, TSPROF_OFFCPU_STACK, &whole);
			barrier_var(n);
			if (n > TSPROF_OFFCPU_STACK)
				n = TSPROF_OFFCPU_STACK;
			if (bpf_probe_read_user(s->data, n, (void *)s->sp) != 0) {
				n = TSPROF_PAGE_SIZE - (s->sp & (TSPROF_PAGE_SIZE - 1));
				barrier_var(n);
				if (n > TSPROF_OFFCPU_STACK)
					n = TSPROF_OFFCPU_STACK;
				if (bpf_probe_read_user(s->data, n, (void *)s->sp) != 0)
					n = 0;
			}
			n &= ~7ull;
		}
	}
	if (n > TSPROF_OFFCPU_STACK)
		n = TSPROF_OFFCPU_STACK;
	s->stack_bytes = n;
	r = bpf_get_stack(ctx, s->data + n, TSPROF_OFFCPU_DEPTH * 8, 0);
	k = r > 0 ? (__u64)r / 8 : 0;
	if (k > TSPROF_OFFCPU_DEPTH)
		k = TSPROF_OFFCPU_DEPTH;
	s->kstack_nr = k;
	if (!kthread) {
		r = bpf_get_stack(ctx, s->data + n + k * 8, TSPROF_OFFCPU_DEPTH * 8, BPF_F_USER_STACK);
		u = r > 0 ? (__u64)r / 8 : 0;
	}
	s->ustack_nr = u;
	if (bpf_map_update_elem(&offcpu_start, &tid, s, BPF_ANY) != 0)
		__sync_fetch_and_add(&kstats.offcpu_dropped, 1);
}

/* Switch-in: the thread waited from its switch-out until now. */
static __always_inline void switch_in(struct task_struct *next)
{
	struct tsprof_offcpu *v;
	__u32 tid = next->pid;
	__u64 now, size;

	v = bpf_map_lookup_elem(&offcpu_start, &tid);
	if (!v)
		return;
	now = bpf_ktime_get_ns();
	if (now - v->ktime_ns >= min_block_ns) {
		v->blocked_ns = now - v->ktime_ns;
		v->ktime_ns = now;
		size = sizeof(*v) - sizeof(v->data) + v->stack_bytes + ((__u64)v->kstack_nr + v->ustack_nr) * 8;
		if (size > sizeof(*v))
			size = sizeof(*v);
		if (bpf_ringbuf_output(&offcpu, v, size, wake_flags(&offcpu)) != 0)
			__sync_fetch_and_add(&kstats.lost_offcpu, 1);
		else
			__sync_fetch_and_add(&kstats.offcpu_blocks, 1);
	}
	bpf_map_delete_elem(&offcpu_start, &tid);
}

/* Loaded always, attached only when off-CPU time is asked for. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	if (!armed)
		return 0;
	switch_out(ctx, prev, preempt, prev_state);
	switch_in(next);
	return 0;
}
