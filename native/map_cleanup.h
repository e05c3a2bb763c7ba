// Deleting many keys from a BPF map (ARCHITECTURE.md, Principles: 5).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

/** Running counts of how map entries were deleted. */
struct CleanupCounts {
  uint64_t batch_deletes = 0;
  uint64_t fallback_deletes = 0;
  uint64_t failures = 0;
};

/** Per-map memory of whether BPF_MAP_DELETE_BATCH works on it, so a stack
 * map is not asked again every drain. */
struct BatchSupport {
  bool known = false;
  bool supported = true;
};

/**
 * Deletes `count` keys of `key_size` bytes each, stored back to back in
 * `keys`, from the map behind `map_fd`. Tries BPF_MAP_DELETE_BATCH; when a
 * batch stops at a missing key (ENOENT, `count` = keys deleted before it),
 * resumes after that key. When the map type has no batch delete (stack-trace
 * maps answer ENOTSUPP and leave `count` unwritten), deletes key by key.
 * A key that is already gone is not a failure.
 */
void delete_keys(int map_fd, const uint8_t* keys, size_t key_size, size_t count,
                 BatchSupport& support, CleanupCounts& counts);

/** Every key currently in the map, back to back, via BPF_MAP_GET_NEXT_KEY. */
std::vector<uint8_t> all_keys(int map_fd, size_t key_size, size_t max_entries);
