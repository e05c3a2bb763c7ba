#include "map_cleanup.h"

#include <bpf/bpf.h>
#include <cerrno>

namespace {
// The kernel's internal ENOTSUPP, which leaks out of the bpf syscall for map
// types without batch operations.
constexpr int kENOTSUPP = 524;

void delete_one_by_one(int map_fd, const uint8_t* keys, size_t key_size, size_t count,
                       CleanupCounts& counts) {
  for (size_t i = 0; i < count; i++) {
    if (bpf_map_delete_elem(map_fd, keys + i * key_size) == 0) {
      counts.fallback_deletes++;
    } else if (errno != ENOENT) {
      counts.failures++;
    }
  }
}
}  // namespace

void delete_keys(int map_fd, const uint8_t* keys, size_t key_size, size_t count,
                 BatchSupport& support, CleanupCounts& counts) {
  size_t done = 0;
  while (done < count && (!support.known || support.supported)) {
    __u32 n = static_cast<__u32>(count - done);
    const __u32 asked = n;
    int err = bpf_map_delete_batch(map_fd, keys + done * key_size, &n, nullptr);
    if (err == 0) {
      support.known = true;
      counts.batch_deletes += asked;
      return;
    }
    int e = errno;
    if (e == kENOTSUPP || e == EOPNOTSUPP || e == EINVAL) {
      // No batch support: `n` was not written back, nothing was deleted.
      support.known = true;
      support.supported = false;
      break;
    }
    support.known = true;
    if (n > asked) n = 0;  // never trust a count the kernel did not write
    counts.batch_deletes += n;
    done += n;
    if (e == ENOENT) {
      done += 1;  // the key at index n is already gone: resume after it
      continue;
    }
    // Any other error: fall back for the rest so that nothing is left behind.
    break;
  }
  if (done < count) delete_one_by_one(map_fd, keys + done * key_size, key_size, count - done, counts);
}

std::vector<uint8_t> all_keys(int map_fd, size_t key_size, size_t max_entries) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> cur(key_size), next(key_size);
  const void* prev = nullptr;
  // Bounded by max_entries so a map that keeps changing cannot loop forever.
  for (size_t i = 0; i <= max_entries; i++) {
    if (bpf_map_get_next_key(map_fd, prev, next.data()) != 0) break;
    out.insert(out.end(), next.begin(), next.end());
    cur.swap(next);
    prev = cur.data();
  }
  return out;
}
