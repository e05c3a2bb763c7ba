// The kernel session: owns the BPF skeleton, one perf fd per CPU, the event
// ring buffer and the side-band rings. Every method that touches the kernel
// for more than a moment runs on a worker thread and returns a Promise.
//
// JavaScript signatures:
//   new Sampler()
//   sampler.open({ frequencyHz: number, sidebandPages: number,
//                  stackCopyBytes: number, sampleRingBytes: number,
//                  cpuSamples?: boolean (default true),
//                  offCpu?: { minBlockNs: number, kernelThreads: boolean,
//                             ringBytes: number } }): Promise<void>
//       Loads the programs and attaches every one of them, unarmed: the
//       cpu-clock program on every online CPU, the exec/exit/fork
//       tracepoints, and the disabled side-band events. Each sample copies
//       up to stackCopyBytes of user stack (0..TSPROF_STACK_COPY_MAX) into a
//       samples ring of sampleRingBytes (a power of two). With offCpu, the
//       sched_switch program is loaded and attached too (otherwise it is not
//       even loaded); cpuSamples false leaves the cpu-clock program out. Any
//       failure rejects with one message and leaves nothing attached.
//   sampler.arm(): void
//       Sets the .bss `armed` flag and enables the side-band events, so every
//       probe starts at once; then a native thread starts emptying the rings
//       into memory once a second, and at once when one is a quarter full,
//       so they never fill while JavaScript is busy.
//   sampler.drain(into?: ArrayBuffer): Promise<{ buffer: ArrayBuffer, length: number }>
//       Collects events, side-band records, samples and off-CPU blocks, and
//       now and then deletes the off-CPU entries of threads that are gone.
//       The bytes go into `into` (the buffer of the last drain, handed back)
//       when they fit, else into a new, larger buffer; `length` says how
//       many. Layout: struct tsprof_drain_header and what follows it
//       (bpf/tsprof.h). Calls must not overlap; the caller must be done
//       with everything it read from `into`.
//   sampler.close(): Promise<void>
//       Detaches and unloads everything; idempotent.
//   sampler.programIds(): number[]   ids of the loaded programs
//   sampler.mapIds(): number[]       ids of the maps
#pragma once
#include <napi.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "map_cleanup.h"
#include "sideband.h"
#include "tsprof.h"

struct tsprof;

// Where the samples ring's callback puts what it reads.
struct SampleSink {
  std::vector<uint8_t> bytes;
  uint32_t count = 0;
};
struct bpf_link;
struct ring_buffer;

class Sampler : public Napi::ObjectWrap<Sampler> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Sampler(const Napi::CallbackInfo& info);
  ~Sampler() override;

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Arm(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value ProgramIds(const Napi::CallbackInfo& info);
  Napi::Value MapIds(const Napi::CallbackInfo& info);

  struct OpenOptions {
    int frequency_hz = 0;
    int sideband_pages = 0;
    int stack_copy_bytes = 0;
    int64_t sample_ring_bytes = 0;
    bool cpu_samples = true;
    bool off_cpu = false;
    int64_t min_block_ns = 0;
    bool offcpu_kernel_threads = false;
    int64_t offcpu_ring_bytes = 0;
    // --pid: sample only these processes and their descendants; empty: all.
    std::vector<uint32_t> pids;
  };
  void sweep_offcpu_starts();
  void consume_locked();
  void poll_loop();
  void stop_poller();
  // Rings hold two seconds of samples and wake the poller at a quarter
  // full; otherwise it reads them once a second. A wake-up of a thread
  // costs ~0.4 ms of CPU on this virtual machine with both CPUs busy.
  static constexpr int kPollMs = 1000;
  // What may wait in user memory between drains, per ring: about 3,000
  // samples with full stack copies; more would only pile up work that the
  // JavaScript side cannot keep up with.
  static constexpr size_t kPendingCap = size_t(32) << 20;
  static constexpr int kSweepEveryDrains = 40;
  std::string open_all(const OpenOptions& opts);
  // Under the lock: reads the rings once more, fills the header and swaps
  // what gathered into drained_. The copy out happens on the main thread.
  std::string drain_locked();
  size_t drained_size() const;
  // Copies drained_ into `to` (drained_size() bytes) in the drain layout.
  void copy_drained(uint8_t* to);
  void close_all();
  bool busy(Napi::Env env);

  tsprof* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  ring_buffer* events_ = nullptr;
  ring_buffer* samples_ = nullptr;
  ring_buffer* offcpu_ = nullptr;
  Sideband sideband_;
  std::vector<uint8_t> event_scratch_;
  SampleSink sample_sink_;
  SampleSink offcpu_sink_;
  // Between drains, what the poller thread took from the rings waits here.
  std::vector<uint8_t> pending_sideband_;
  uint32_t pending_chunks_ = 0;
  std::mutex mu_;
  // Written by stop_poller() to wake the poller at once.
  int stop_fd_ = -1;
  std::thread poller_;
  bool stop_poller_ = false;
  int drains_since_sweep_ = 0;
  CleanupCounts cleanup_;
  BatchSupport offcpu_batch_;
  // What the last drain took, waiting to be copied into the caller's buffer
  // (once: ring -> these vectors -> JavaScript). The vectors trade places
  // with the poller's at every drain and keep their capacity, because a
  // fresh large buffer is a fresh mmap whose every page faults in: on a
  // virtual machine, at 1,000 samples a second, those faults and the
  // copies were most of tsprof's own CPU (ARCHITECTURE.md, Cost).
  struct Drained {
    tsprof_drain_header header;
    std::vector<uint8_t> events, sideband, samples, offcpu;
  } drained_;
  // Set while a worker owns the session, so overlapping calls fail loudly.
  std::atomic<bool> busy_{false};
};
