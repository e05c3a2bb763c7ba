/**
 * Why a thread was off the CPU, read from the kernel stack it blocked in.
 * A pure function of what the off-CPU probe recorded, so `top` and `record`
 * name the same wait the same way.
 */

/** What a thread waited for. */
export type WaitReason = "preempted" | "lock" | "pipe" | "socket" | "disk I/O" | "sleep" | "poll" | "terminal" | "child" | "other";

/** Kernel functions that say what a wait was for, most specific first. */
const RULES: readonly (readonly [RegExp, WaitReason])[] = [
	[/^(futex_|__futex|rt_mutex|mutex_lock|__mutex_lock|rwsem_down|down_read|down_write)/, "lock"],
	[/^(anon_pipe_read|anon_pipe_write|pipe_read|pipe_write|pipe_wait|wait_for_partner)/, "pipe"],
	[/^(sk_wait_data|sock_|tcp_|udp_|unix_stream_|unix_dgram_|inet_|__skb_wait_for_more_packets)/, "socket"],
	[/^(io_schedule|folio_wait|__folio_lock|wait_on_page|__lock_page|blk_|bio_wait|submit_bio_wait|jbd2_|ext4_sync|xfs_log_force|wait_on_buffer)/, "disk I/O"],
	[/^(do_nanosleep|hrtimer_nanosleep|common_nsleep|__x64_sys_nanosleep|__x64_sys_clock_nanosleep|msleep)/, "sleep"],
	[/^(ep_poll|do_epoll_wait|do_select|core_sys_select|do_sys_poll|do_poll)/, "poll"],
	[/^(n_tty_read|tty_read)/, "terminal"],
	[/^(do_wait|kernel_wait4)/, "child"],
];

/**
 * `kernelNames` innermost first. The innermost match wins: a futex wait
 * reached through poll is a lock wait.
 */
export function waitReason(kernelNames: readonly string[], preempted: boolean): WaitReason {
	if (preempted) return "preempted";
	for (const name of kernelNames) {
		for (const [pattern, reason] of RULES) if (pattern.test(name)) return reason;
	}
	return "other";
}
