// A small read-only map from label strings to their index in one policy
// domain (at most kMaxValues names), built for lookups that never allocate
// and cost a few nanoseconds: a cheap hash of the length and the first and
// last eight bytes, open addressing in a table at least four times the
// number of names (256 slots or more), one full comparison on a hit.
// Immutable after Build(); thread-safe for concurrent Find().
#ifndef GATEHOUSE_POLICY_LABEL_INDEX_H_
#define GATEHOUSE_POLICY_LABEL_INDEX_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace gatehouse::policy {

class LabelIndex {
 public:
  // REQUIRES: names are distinct and there are fewer than 65535 of them.
  void Build(const std::vector<std::string>& names) {
    names_ = names;
    size_t slots = 256;
    while (slots < 4 * names_.size()) slots *= 2;
    mask_ = static_cast<uint32_t>(slots - 1);
    slots_.assign(slots, 0);
    for (size_t i = 0; i < names_.size(); ++i) {
      uint32_t s = Hash(names_[i]) & mask_;
      while (slots_[s] != 0) s = (s + 1) & mask_;
      slots_[s] = static_cast<uint16_t>(i + 1);
    }
  }

  // The index of `label`, or -1 if it is not a name of this domain.
  int Find(absl::string_view label) const {
    if (slots_.empty()) return -1;
    uint32_t s = Hash(label) & mask_;
    for (;;) {
      const uint16_t v = slots_[s];
      if (v == 0) return -1;
      const std::string& n = names_[v - 1];
      if (n.size() == label.size() &&
          std::memcmp(n.data(), label.data(), label.size()) == 0) {
        return v - 1;
      }
      s = (s + 1) & mask_;
    }
  }

 private:
  static uint32_t Hash(absl::string_view s) {
    uint64_t head = 0, tail = 0;
    const size_t n = s.size();
    if (n >= 8) {
      std::memcpy(&head, s.data(), 8);
      std::memcpy(&tail, s.data() + n - 8, 8);
    } else if (n > 0) {
      std::memcpy(&head, s.data(), n);
    }
    uint64_t h = (head * 0x9E3779B97F4A7C15ULL) ^
                 ((tail + n) * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return static_cast<uint32_t>(h >> 32);
  }

  std::vector<std::string> names_;
  std::vector<uint16_t> slots_;
  uint32_t mask_ = 0;
};

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_LABEL_INDEX_H_
