#include "sideband.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tsprof.h"

Sideband::~Sideband() { close(); }

std::string Sideband::open(const std::vector<int>& cpus, size_t data_pages) {
  page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (int cpu : cpus) {
    perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_DUMMY;
    attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
    attr.disabled = 1;
    attr.mmap = 1;
    attr.mmap2 = 1;
    attr.comm = 1;
    attr.comm_exec = 1;
    attr.task = 1;
    attr.sample_id_all = 1;
    attr.build_id = 1;
    // The same clock as bpf_ktime_get_ns, so records and BPF events merge.
    attr.use_clockid = 1;
    attr.clockid = CLOCK_MONOTONIC;
    // Read on a timer, or at once when a quarter full (a storm of starts).
    attr.watermark = 1;
    attr.wakeup_watermark = static_cast<__u32>(data_pages * page_size_ / 4);
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      std::string msg = "cannot open the side-band perf event on CPU " + std::to_string(cpu) + ": " + strerror(errno);
      close();
      return msg;
    }
    size_t len = (data_pages + 1) * page_size_;
    void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      std::string msg = "cannot map the side-band ring on CPU " + std::to_string(cpu) + ": " + strerror(errno) +
                        " (see /proc/sys/kernel/perf_event_mlock_kb)";
      ::close(fd);
      close();
      return msg;
    }
    rings_.push_back({cpu, fd, base, data_pages * page_size_});
  }
  return "";
}

void Sideband::append_fds(std::vector<int>& fds) const {
  for (const auto& r : rings_) fds.push_back(r.fd);
}

void Sideband::enable() {
  for (auto& r : rings_) ioctl(r.fd, PERF_EVENT_IOC_ENABLE, 0);
}

size_t Sideband::read_into(std::vector<uint8_t>& out, uint32_t& chunks) {
  size_t total = 0;
  for (auto& r : rings_) {
    auto* meta = static_cast<perf_event_mmap_page*>(r.base);
    const uint8_t* data = static_cast<const uint8_t*>(r.base) + page_size_;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    uint64_t avail = head - tail;
    if (avail == 0) continue;
    if (avail > r.data_size) avail = r.data_size;  // cannot happen unless the kernel misbehaves
    tsprof_sideband_chunk chunk{static_cast<__u32>(r.cpu), static_cast<__u32>(avail)};
    const uint8_t* c = reinterpret_cast<const uint8_t*>(&chunk);
    out.insert(out.end(), c, c + sizeof(chunk));
    size_t start = static_cast<size_t>(tail % r.data_size);
    size_t first = std::min<size_t>(avail, r.data_size - start);
    out.insert(out.end(), data + start, data + start + first);
    if (first < avail) out.insert(out.end(), data, data + (avail - first));
    __atomic_store_n(&meta->data_tail, tail + avail, __ATOMIC_RELEASE);
    chunks++;
    total += avail;
  }
  return total;
}

void Sideband::close() {
  for (auto& r : rings_) {
    if (r.base) munmap(r.base, r.data_size + page_size_);
    if (r.fd >= 0) ::close(r.fd);
  }
  rings_.clear();
}
