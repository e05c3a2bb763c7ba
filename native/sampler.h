// The kernel session: owns the BPF skeleton, one perf fd per CPU, the event
// ring buffer and the side-band rings. Every method that touches the kernel
// for more than a moment runs on a worker thread and returns a Promise.
//
// JavaScript signatures:
//   new Sampler()
//   sampler.open({ frequencyHz: number, sidebandPages: number,
//                  stackCopyBytes: number, sampleRingBytes: number }): Promise<void>
//       Loads the programs and attaches every one of them, unarmed: the
//       cpu-clock program on every online CPU, the exec/exit/fork
//       tracepoints, and the disabled side-band events. Each sample copies
//       up to stackCopyBytes of user stack (0..TSPROF_STACK_COPY_MAX) into a
//       samples ring of sampleRingBytes (a power of two). Any failure rejects
//       with one message and leaves nothing attached.
//   sampler.arm(): void
//       Sets the .bss `armed` flag and enables the side-band events, so every
//       probe starts at once.
//   sampler.drain(): Promise<ArrayBuffer>
//       Flips the double-buffered maps, then collects events, samples,
//       side-band records, counts and stacks of the drained half, and clears
//       that half.
//       Layout: struct tsprof_drain_header and what follows it (bpf/tsprof.h).
//       Calls must not overlap.
//   sampler.close(): Promise<void>
//       Detaches and unloads everything; idempotent.
//   sampler.programIds(): number[]   ids of the loaded programs
//   sampler.mapIds(): number[]       ids of the maps
#pragma once
#include <napi.h>

#include <atomic>
#include <string>
#include <vector>

#include "map_cleanup.h"
#include "sideband.h"

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
  };
  std::string open_all(const OpenOptions& opts);
  std::string drain_into(std::vector<uint8_t>& out);
  void close_all();
  bool busy(Napi::Env env);

  tsprof* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  ring_buffer* events_ = nullptr;
  ring_buffer* samples_ = nullptr;
  Sideband sideband_;
  std::vector<uint8_t> event_scratch_;
  SampleSink sample_sink_;
  CleanupCounts cleanup_;
  BatchSupport counts_batch_[2];
  BatchSupport stacks_batch_[2];
  uint64_t lost_stack_reads_ = 0;
  // Set while a worker owns the session, so overlapping calls fail loudly.
  std::atomic<bool> busy_{false};
};
