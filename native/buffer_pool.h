// Drain buffers lent to JavaScript, taken back when V8 lets go of them.
//
// A drain is hundreds of kilobytes when stacks are copied. A fresh buffer
// each time is a fresh mmap (glibc maps anything past 256 KiB), so every
// page of it faults in and every free shoots down TLBs on all CPUs; on a
// virtual machine that was a third of what the drain cost. Reused buffers
// keep their pages.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

class BufferPool {
 public:
  using Bytes = std::vector<uint8_t>;

  // An empty buffer, with the capacity of one given back if there is one.
  std::unique_ptr<Bytes> take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.empty()) return std::make_unique<Bytes>();
    std::unique_ptr<Bytes> b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }

  // Keeps a few buffers of ordinary size; an odd large one goes back to the system.
  void give(std::unique_ptr<Bytes> b) {
    if (!b || b->capacity() > kMaxKeptBytes) return;
    b->clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.size() < kSpares) spare_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kSpares = 3;
  static constexpr size_t kMaxKeptBytes = size_t(8) << 20;
  std::mutex mu_;
  std::vector<std::unique_ptr<Bytes>> spare_;
};
