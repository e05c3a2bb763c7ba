// perf side-band records (fork, comm/exec, mmap2, exit) from a dummy
// software event on every CPU: the source of process mappings that does not
// race with a short process's exit (ARCHITECTURE.md, Principles: 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct SidebandRing {
  int cpu = -1;
  int fd = -1;
  void* base = nullptr;  // the metadata page, then the data pages
  size_t data_size = 0;
};

class Sideband {
 public:
  ~Sideband();
  /**
   * Opens one disabled dummy event per CPU in `cpus` with a ring of
   * `data_pages` (a power of two) pages. Returns an empty string on success,
   * else a message; on failure nothing stays open.
   */
  std::string open(const std::vector<int>& cpus, size_t data_pages);
  /** Starts the records flowing (part of arming). */
  void enable();
  /** Appends the events' descriptors, readable once a ring is a quarter full. */
  void append_fds(std::vector<int>& fds) const;
  /**
   * Appends, for each CPU, a tsprof_sideband_chunk header and the raw records
   * written since the last call, and frees that space in the ring.
   */
  size_t read_into(std::vector<uint8_t>& out, uint32_t& chunks);
  void close();

 private:
  std::vector<SidebandRing> rings_;
  size_t page_size_ = 4096;
};
