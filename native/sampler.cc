#include "sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>

#include "tsprof.h"
#include "tsprof.skel.h"
#include "worker.h"

namespace {

// libbpf prints through one global hook; keep its last message so that an
// error can say why, instead of spraying libbpf's log on the user's terminal.
std::mutex g_log_mutex;
std::string g_last_log;

int capture_libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_last_log = line;
  while (!g_last_log.empty() && (g_last_log.back() == '\n' || g_last_log.back() == ' ')) g_last_log.pop_back();
  return 0;
}

std::string last_libbpf_log() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  return g_last_log;
}

std::string errno_text(int err) { return strerror(err < 0 ? -err : err); }

// "0-3,5" -> {0,1,2,3,5}
std::vector<int> online_cpus() {
  std::vector<int> cpus;
  std::ifstream f("/sys/devices/system/cpu/online");
  std::string s;
  std::getline(f, s);
  size_t i = 0;
  while (i < s.size()) {
    size_t end = s.find(',', i);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(i, end - i);
    size_t dash = part.find('-');
    int lo = atoi(part.c_str());
    int hi = dash == std::string::npos ? lo : atoi(part.c_str() + dash + 1);
    for (int c = lo; c <= hi && c - lo < 4096; c++) cpus.push_back(c);
    i = end + 1;
  }
  return cpus;
}

// A sample's record is its header, stack bytes and kernel ips; the drain
// hands them on as they came, padded to 8 bytes so every header stays aligned.
int append_sample(void* ctx, void* data, size_t size) {
  auto* sink = static_cast<SampleSink*>(ctx);
  std::vector<uint8_t>* out = &sink->bytes;
  if (size < sizeof(tsprof_sample)) return 0;
  const auto* hdr = static_cast<const tsprof_sample*>(data);
  size_t need = sizeof(tsprof_sample) + hdr->stack_bytes + size_t(hdr->kstack_nr) * 8;
  if (need > size) return 0;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + need);
  out->resize((out->size() + 7) & ~size_t(7), 0);
  sink->count++;
  return 0;
}

int append_offcpu(void* ctx, void* data, size_t size) {
  auto* sink = static_cast<SampleSink*>(ctx);
  const size_t head = offsetof(tsprof_offcpu, data);
  if (size < head) return 0;
  const auto* rec = static_cast<const tsprof_offcpu*>(data);
  size_t need = head + rec->stack_bytes + (size_t(rec->kstack_nr) + rec->ustack_nr) * 8;
  if (need > size || need > sizeof(tsprof_offcpu)) return 0;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  sink->bytes.insert(sink->bytes.end(), p, p + need);
  sink->bytes.resize((sink->bytes.size() + 7) & ~size_t(7), 0);
  sink->count++;
  return 0;
}

int append_event(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  if (size < sizeof(tsprof_event)) return 0;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + sizeof(tsprof_event));
  return 0;
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

}  // namespace

Napi::Function Sampler::Init(Napi::Env env) {
  libbpf_set_print(capture_libbpf_log);
  return DefineClass(env, "Sampler",
                     {
                         InstanceMethod("open", &Sampler::Open),
                         InstanceMethod("arm", &Sampler::Arm),
                         InstanceMethod("drain", &Sampler::Drain),
                         InstanceMethod("close", &Sampler::Close),
                         InstanceMethod("programIds", &Sampler::ProgramIds),
                         InstanceMethod("mapIds", &Sampler::MapIds),
                     });
}

Sampler::Sampler(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sampler>(info) {}

Sampler::~Sampler() {
  // A worker that still runs holds `this`; the JS wrapper cannot be
  // collected while its Promise is pending, so this runs with no worker.
  close_all();
}

bool Sampler::busy(Napi::Env env) {
  bool expected = false;
  if (busy_.compare_exchange_strong(expected, true)) return false;
  Napi::Error::New(env, "tsprof: overlapping calls into the kernel session").ThrowAsJavaScriptException();
  return true;
}

Napi::Value Sampler::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "open({ frequencyHz, sidebandPages, stackCopyBytes, sampleRingBytes })")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  OpenOptions opts;
  opts.frequency_hz = o.Get("frequencyHz").ToNumber().Int32Value();
  opts.sideband_pages = o.Get("sidebandPages").ToNumber().Int32Value();
  opts.stack_copy_bytes = o.Get("stackCopyBytes").ToNumber().Int32Value();
  opts.sample_ring_bytes = o.Get("sampleRingBytes").ToNumber().Int64Value();
  opts.cpu_samples = !o.Has("cpuSamples") || o.Get("cpuSamples").ToBoolean().Value();
  if (o.Has("offCpu") && o.Get("offCpu").IsObject()) {
    Napi::Object off = o.Get("offCpu").As<Napi::Object>();
    opts.off_cpu = true;
    opts.min_block_ns = off.Get("minBlockNs").ToNumber().Int64Value();
    opts.offcpu_kernel_threads = off.Get("kernelThreads").ToBoolean().Value();
    opts.offcpu_ring_bytes = off.Get("ringBytes").ToNumber().Int64Value();
  }
  if (o.Has("pids") && o.Get("pids").IsArray()) {
    Napi::Array pids = o.Get("pids").As<Napi::Array>();
    for (uint32_t i = 0; i < pids.Length(); i++) {
      int64_t pid = pids.Get(i).ToNumber().Int64Value();
      if (pid <= 0 || pid > INT32_MAX) {
        Napi::RangeError::New(env, "pids must be positive process ids").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      opts.pids.push_back(static_cast<uint32_t>(pid));
    }
    if (opts.pids.size() > TSPROF_FOLLOWED_PROCESSES) {
      Napi::RangeError::New(env, "too many pids to follow").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  auto pow2 = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0; };
  if (opts.frequency_hz <= 0 || !pow2(opts.sideband_pages)) {
    Napi::RangeError::New(env, "frequencyHz must be > 0 and sidebandPages a power of two").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (opts.stack_copy_bytes < 0 || opts.stack_copy_bytes > TSPROF_STACK_COPY_MAX) {
    Napi::RangeError::New(env, "stackCopyBytes must be 0.." + std::to_string(TSPROF_STACK_COPY_MAX))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto ring_ok = [&](int64_t v) { return pow2(v) && v >= 4096 && v <= (1ll << 30); };
  if (!ring_ok(opts.sample_ring_bytes) || (opts.off_cpu && !ring_ok(opts.offcpu_ring_bytes))) {
    Napi::RangeError::New(env, "ring sizes must be powers of two from 4 KiB to 1 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (busy(env)) return env.Undefined();
  return PromiseWorker::Run(
      env,
      [this, opts]() {
        std::string err = open_all(opts);
        busy_ = false;
        return err;
      },
      [](Napi::Env e) { return e.Undefined(); });
}

std::string Sampler::open_all(const OpenOptions& opts) {
  if (skel_) return "the session is already open";
  skel_ = tsprof__open();
  if (!skel_) return "cannot open the BPF object: " + errno_text(errno);
  skel_->rodata->stack_copy_bytes = static_cast<__u32>(opts.stack_copy_bytes);
  skel_->rodata->min_block_ns = static_cast<__u64>(opts.min_block_ns);
  skel_->rodata->offcpu_kernel_threads = opts.offcpu_kernel_threads ? 1 : 0;
  skel_->rodata->self_tgid = static_cast<__u32>(getpid());
  skel_->rodata->follow_pids = opts.pids.empty() ? 0 : 1;
  int err = bpf_map__set_max_entries(skel_->maps.samples, static_cast<__u32>(opts.sample_ring_bytes));
  if (!err && opts.off_cpu) err = bpf_map__set_max_entries(skel_->maps.offcpu, static_cast<__u32>(opts.offcpu_ring_bytes));
  if (!err && opts.pids.empty()) err = bpf_map__set_max_entries(skel_->maps.followed, 1);
  // Not asked for: not loaded at all, so it costs nothing.
  if (!err && !opts.off_cpu) err = bpf_program__set_autoload(skel_->progs.on_switch, false);
  if (!err && !opts.cpu_samples) err = bpf_program__set_autoload(skel_->progs.on_cpu_clock, false);
  if (err) {
    close_all();
    return "cannot prepare the BPF programs: " + errno_text(err);
  }
  err = tsprof__load(skel_);
  if (err) {
    std::string msg = "cannot load the BPF programs: " + errno_text(err);
    std::string why = last_libbpf_log();
    if (!why.empty()) msg += " (" + why + ")";
    close_all();
    return msg;
  }
  auto fail = [this](std::string msg) {
    close_all();
    return msg;
  };
  // Before anything is attached: the first sample of a followed process is kept.
  for (uint32_t pid : opts.pids) {
    __u8 one = 1;
    if (bpf_map__update_elem(skel_->maps.followed, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY) != 0)
      return fail("cannot follow pid " + std::to_string(pid) + ": " + errno_text(errno));
  }

  std::vector<int> cpus = online_cpus();
  if (cpus.empty()) return fail("cannot read the online CPUs from /sys/devices/system/cpu/online");
  for (int cpu : opts.cpu_samples ? cpus : std::vector<int>()) {
    perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = static_cast<__u64>(opts.frequency_hz);
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return fail("cannot open the cpu-clock perf event on CPU " + std::to_string(cpu) + ": " + errno_text(errno));
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.on_cpu_clock, fd);
    if (!link) {
      int e = errno;
      ::close(fd);
      return fail("cannot attach the sampler to CPU " + std::to_string(cpu) + ": " + errno_text(e));
    }
    links_.push_back(link);  // destroying the link closes the perf fd
  }
  std::vector<bpf_program*> tracepoints = {skel_->progs.on_exec, skel_->progs.on_fork, skel_->progs.on_exit};
  if (opts.off_cpu) tracepoints.push_back(skel_->progs.on_switch);
  for (bpf_program* prog : tracepoints) {
    bpf_link* link = bpf_program__attach(prog);
    if (!link) return fail(std::string("cannot attach ") + bpf_program__name(prog) + ": " + errno_text(errno));
    links_.push_back(link);
  }
  events_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), append_event, &event_scratch_, nullptr);
  if (!events_) return fail("cannot open the event ring buffer: " + errno_text(errno));
  samples_ = ring_buffer__new(bpf_map__fd(skel_->maps.samples), append_sample, &sample_sink_, nullptr);
  if (!samples_) return fail("cannot open the samples ring buffer: " + errno_text(errno));
  if (opts.off_cpu) {
    offcpu_ = ring_buffer__new(bpf_map__fd(skel_->maps.offcpu), append_offcpu, &offcpu_sink_, nullptr);
    if (!offcpu_) return fail("cannot open the off-CPU ring buffer: " + errno_text(errno));
  }
  std::string sb = sideband_.open(cpus, static_cast<size_t>(opts.sideband_pages));
  if (!sb.empty()) return fail(sb);
  return "";
}

Napi::Value Sampler::Arm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!skel_ || busy_) {
    Napi::Error::New(env, "arm() needs an open, idle session").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sideband_.enable();
  __atomic_store_n(&skel_->bss->armed, 1, __ATOMIC_SEQ_CST);
  if (!poller_.joinable()) {
    stop_poller_ = false;
    if (stop_fd_ < 0) stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    poller_ = std::thread(&Sampler::poll_loop, this);
  }
  return env.Undefined();
}

// Moves what the kernel wrote into user memory. Runs on the poller thread
// every few tens of milliseconds and once more in each drain, always under
// mu_: the rings are then emptied at the kernel's pace, whatever keeps
// JavaScript busy (a large binary's unwind table, a slow terminal).
void Sampler::consume_locked() {
  ring_buffer__consume(events_);
  sideband_.read_into(pending_sideband_, pending_chunks_);
  // A JavaScript side that stopped draining must not take all memory: past
  // the cap, samples stay in the ring, and the kernel counts what it drops.
  if (sample_sink_.bytes.size() < kPendingCap) ring_buffer__consume(samples_);
  if (offcpu_ && offcpu_sink_.bytes.size() < kPendingCap) ring_buffer__consume(offcpu_);
}

// Sleeps until a ring is a quarter full (the BPF side then wakes it), the
// side band passes its watermark, stop_poller() writes stop_fd_, or
// kPollMs pass. Edge-triggered: a ring left unread past kPendingCap stays
// readable, and must not turn this into a busy loop.
void Sampler::poll_loop() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep >= 0) {
    std::vector<int> fds = {stop_fd_};
    for (ring_buffer* rb : {events_, samples_, offcpu_})
      if (rb) fds.push_back(ring_buffer__epoll_fd(rb));
    sideband_.append_fds(fds);
    for (int fd : fds) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLET;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  epoll_event ready[16];
  while (true) {
    // Without epoll (it cannot fail short of fd exhaustion) the timer alone paces the reads.
    if (ep >= 0) epoll_wait(ep, ready, 16, kPollMs);
    else usleep(kPollMs * 1000 / 5);
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_poller_) break;
    consume_locked();
  }
  if (ep >= 0) ::close(ep);
}

void Sampler::stop_poller() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_poller_ = true;
  }
  uint64_t one = 1;
  if (stop_fd_ >= 0 && write(stop_fd_, &one, sizeof(one)) < 0) {
    // The poller still stops within kPollMs.
  }
  if (poller_.joinable()) poller_.join();
}

namespace {
// A vector that a storm grew keeps its pages only while drains still need
// them: past four times what this drain used (and 1 MiB), it is let go.
void keep_or_release(std::vector<uint8_t>& v, size_t used) {
  v.clear();
  if (v.capacity() > (size_t(1) << 20) && v.capacity() > used * 4) std::vector<uint8_t>().swap(v);
}
}  // namespace

std::string Sampler::drain_locked() {
  if (!skel_) return "the session is closed";
  tsprof_drain_header& h = drained_.header;
  memset(&h, 0, sizeof(h));
  h.magic = TSPROF_DRAIN_MAGIC;
  h.version = TSPROF_DRAIN_VERSION;
  std::lock_guard<std::mutex> lock(mu_);
  // Everything that happened before this instant is in this drain or an
  // earlier one: the rings are read once more after it.
  h.drain_ktime_ns = monotonic_ns();
  consume_locked();
  if (offcpu_ && ++drains_since_sweep_ >= kSweepEveryDrains) {
    drains_since_sweep_ = 0;
    sweep_offcpu_starts();
  }

  memcpy(&h.kstats, &skel_->bss->kstats, sizeof(h.kstats));
  h.n_events = static_cast<__u32>(event_scratch_.size() / sizeof(tsprof_event));
  h.n_sideband_chunks = pending_chunks_;
  h.n_samples = sample_sink_.count;
  h.n_offcpu = offcpu_sink_.count;
  h.batch_deletes = cleanup_.batch_deletes;
  h.fallback_deletes = cleanup_.fallback_deletes;
  h.delete_failures = cleanup_.failures;

  // The poller goes on filling the other set: a swap, not a copy.
  event_scratch_.swap(drained_.events);
  pending_sideband_.swap(drained_.sideband);
  sample_sink_.bytes.swap(drained_.samples);
  offcpu_sink_.bytes.swap(drained_.offcpu);
  pending_chunks_ = 0;
  sample_sink_.count = 0;
  offcpu_sink_.count = 0;
  return "";
}

size_t Sampler::drained_size() const {
  return sizeof(tsprof_drain_header) + drained_.events.size() + drained_.sideband.size() + drained_.samples.size() +
         drained_.offcpu.size();
}

void Sampler::copy_drained(uint8_t* to) {
  memcpy(to, &drained_.header, sizeof(drained_.header));
  size_t at = sizeof(drained_.header);
  for (std::vector<uint8_t>* part : {&drained_.events, &drained_.sideband, &drained_.samples, &drained_.offcpu}) {
    if (!part->empty()) memcpy(to + at, part->data(), part->size());
    at += part->size();
    // Emptied with its pages kept: it is the set the poller fills after the next drain.
    keep_or_release(*part, part->size());
  }
}

// A thread that exits deletes its own entry; this catches what slips past
// that (a thread gone while blocked in a way the exit probe did not see),
// so the map returns to its baseline whatever the churn.
void Sampler::sweep_offcpu_starts() {
  int fd = bpf_map__fd(skel_->maps.offcpu_start);
  std::vector<uint8_t> keys = all_keys(fd, sizeof(__u32), TSPROF_OFFCPU_THREADS);
  std::vector<uint8_t> gone;
  for (size_t i = 0; i + sizeof(__u32) <= keys.size(); i += sizeof(__u32)) {
    __u32 tid;
    memcpy(&tid, keys.data() + i, sizeof(tid));
    char path[32];
    snprintf(path, sizeof(path), "/proc/%u", tid);
    if (access(path, F_OK) != 0 && errno == ENOENT) gone.insert(gone.end(), keys.data() + i, keys.data() + i + sizeof(tid));
  }
  delete_keys(fd, gone.data(), sizeof(__u32), gone.size() / sizeof(__u32), offcpu_batch_, cleanup_);
}

Napi::Value Sampler::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (busy(env)) return env.Undefined();
  // The caller's buffer from the last drain, kept alive until the copy.
  auto into = std::make_shared<Napi::Reference<Napi::ArrayBuffer>>();
  if (info.Length() > 0 && info[0].IsArrayBuffer()) *into = Napi::Persistent(info[0].As<Napi::ArrayBuffer>());
  return PromiseWorker::Run(
      env,
      [this]() {
        std::string err = drain_locked();
        // On success the session stays busy until the bytes are copied out.
        if (!err.empty()) busy_ = false;
        return err;
      },
      [this, into](Napi::Env e) -> Napi::Value {
        size_t n = drained_size();
        Napi::ArrayBuffer buffer = into->IsEmpty() ? Napi::ArrayBuffer() : into->Value();
        if (buffer.IsEmpty() || buffer.ByteLength() < n) {
          // A quarter to spare, so a drain a little larger than the last
          // does not need a buffer of its own again.
          buffer = Napi::ArrayBuffer::New(e, std::max<size_t>(n + n / 4, 64 * 1024));
        }
        copy_drained(static_cast<uint8_t*>(buffer.Data()));
        into->Reset();
        busy_ = false;
        Napi::Object out = Napi::Object::New(e);
        out.Set("buffer", buffer);
        out.Set("length", Napi::Number::New(e, static_cast<double>(n)));
        return out;
      });
}

void Sampler::close_all() {
  if (skel_) __atomic_store_n(&skel_->bss->armed, 0, __ATOMIC_SEQ_CST);
  stop_poller();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
  sideband_.close();
  if (events_) {
    ring_buffer__free(events_);
    events_ = nullptr;
  }
  for (ring_buffer** rb : {&samples_, &offcpu_}) {
    if (*rb) ring_buffer__free(*rb);
    *rb = nullptr;
  }
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  if (skel_) {
    tsprof__destroy(skel_);
    skel_ = nullptr;
  }
}

Napi::Value Sampler::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (busy(env)) return env.Undefined();
  return PromiseWorker::Run(
      env,
      [this]() {
        close_all();
        busy_ = false;
        return std::string();
      },
      [](Napi::Env e) { return e.Undefined(); });
}

Napi::Value Sampler::ProgramIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array ids = Napi::Array::New(env);
  if (!skel_) return ids;
  uint32_t i = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_prog_info pi;
    memset(&pi, 0, sizeof(pi));
    __u32 len = sizeof(pi);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len) == 0) ids.Set(i++, Napi::Number::New(env, pi.id));
  }
  return ids;
}

Napi::Value Sampler::MapIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array ids = Napi::Array::New(env);
  if (!skel_) return ids;
  uint32_t i = 0;
  bpf_map* map;
  bpf_object__for_each_map(map, skel_->obj) {
    bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    __u32 len = sizeof(mi);
    if (bpf_obj_get_info_by_fd(bpf_map__fd(map), &mi, &len) == 0) ids.Set(i++, Napi::Number::New(env, mi.id));
  }
  return ids;
}
