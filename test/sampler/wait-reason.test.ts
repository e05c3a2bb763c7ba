import assert from "node:assert/strict";
import { test } from "node:test";
import { waitReason } from "../../source/sampler/wait-reason.js";

const stack = (...names: string[]) => ["__schedule", "schedule", ...names];

test("the kernel stack a thread blocked in says what it waited for", () => {
	assert.equal(waitReason(stack("futex_wait_queue", "__futex_wait", "futex_wait", "do_futex"), false), "lock");
	assert.equal(waitReason(stack("anon_pipe_read", "vfs_read", "ksys_read"), false), "pipe");
	assert.equal(waitReason(stack("schedule_timeout", "sk_wait_data", "tcp_recvmsg_locked"), false), "socket");
	assert.equal(waitReason(stack("io_schedule", "folio_wait_bit_common", "filemap_fault"), false), "disk I/O");
	assert.equal(waitReason(stack("do_nanosleep", "hrtimer_nanosleep", "common_nsleep"), false), "sleep");
	assert.equal(waitReason(stack("schedule_hrtimeout_range", "ep_poll", "do_epoll_wait"), false), "poll");
	assert.equal(waitReason(stack("do_wait", "kernel_wait4"), false), "child");
	assert.equal(waitReason(stack("some_driver_wait"), false), "other");
	assert.equal(waitReason([], false), "other");
});

test("a thread taken off a CPU while runnable was preempted, whatever its stack", () => {
	assert.equal(waitReason(stack("irqentry_exit_to_user_mode"), true), "preempted");
	assert.equal(waitReason(stack("futex_wait"), true), "preempted");
});

test("the innermost telling frame wins: a futex wait under poll is a lock wait", () => {
	assert.equal(waitReason(stack("futex_wait", "do_futex", "ep_poll"), false), "lock");
});
