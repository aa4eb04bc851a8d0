// Tells listeners that something changed, so that they look again instead
// of polling: the store notifies after every committed write, and each
// Watch call listens for it.
//
// A listener runs on the notifying thread, with the signal's lock held, so
// that once Unlisten returns it is not running and never runs again. It
// must be quick, must not block, and must not call Listen or Unlisten.
//
// Example:
//   uint64_t id = signal->Listen([reactor] { reactor->Pump(); });
//   ...
//   signal->Unlisten(id);  // before `reactor` goes away
//
// Thread-safe.
#ifndef GATEHOUSE_COMMON_CHANGE_SIGNAL_H_
#define GATEHOUSE_COMMON_CHANGE_SIGNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace gatehouse {

class ChangeSignal {
 public:
  // Calls every listener.
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, listener] : listeners_) listener();
  }
  // Adds `listener`; returns its id for Unlisten.
  uint64_t Listen(std::function<void()> listener) {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.emplace(++last_id_, std::move(listener));
    return last_id_;
  }
  // Removes a listener; when this returns it is not running.
  void Unlisten(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.erase(id);
  }
  size_t listeners() const {
    std::lock_guard<std::mutex> lock(mu_);
    return listeners_.size();
  }

 private:
  mutable std::mutex mu_;
  uint64_t last_id_ = 0;
  std::map<uint64_t, std::function<void()>> listeners_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_CHANGE_SIGNAL_H_
