#include "tools/ghbench/load_generator.h"

#include <chrono>

#include "common/log.h"
#include "transport/grpc_status.h"

namespace gatehouse::bench {

LoadGenerator::LoadGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels,
                             LoadOptions options, ResponseCheck check)
    : options_(std::move(options)), check_(std::move(check)), channels_(std::move(channels)) {
  for (auto& c : channels_) stubs_.push_back(std::make_unique<grpc::GenericStub>(c));
  for (int i = 0; i < options_.concurrency; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->stub = stubs_[i % stubs_.size()].get();
    slots_.push_back(std::move(slot));
  }
}

LoadGenerator::~LoadGenerator() {
  EnterStopping();
  {
    absl::MutexLock lock(&mu_);  // wakes the pacer
  }
  if (pacer_.joinable()) pacer_.join();
  WaitIdle(absl::Milliseconds(options_.timeout_ms) + absl::Seconds(5));
}

int64_t LoadGenerator::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void LoadGenerator::Start() {
  phase_.store(kWarmup);
  if (options_.rate > 0) {
    {
      absl::MutexLock lock(&mu_);
      for (auto& s : slots_) free_.push_back(s.get());
    }
    pacer_ = std::thread([this] { Pace(); });
    return;
  }
  const int64_t now = NowNs();
  for (auto& s : slots_) Issue(s.get(), now);
}

void LoadGenerator::BeginMeasuring() {
  begin_ns_.store(NowNs());
  int expected = kWarmup;
  phase_.compare_exchange_strong(expected, kMeasuring);
}

void LoadGenerator::EnterStopping() {
  int p = phase_.exchange(kStopping);
  if (p == kMeasuring) stop_ns_.store(NowNs());
}

void LoadGenerator::StopMeasuring() {
  EnterStopping();
  absl::MutexLock lock(&mu_);  // wakes the pacer
}

bool LoadGenerator::WaitIdle(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (outstanding_.load() > 0) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

void LoadGenerator::Issue(Slot* slot, int64_t due_ns) {
  slot->context = std::make_unique<grpc::ClientContext>();
  slot->context->set_deadline(std::chrono::system_clock::now() +
                              std::chrono::milliseconds(options_.timeout_ms));
  slot->request = options_.request;  // shares the slices
  slot->response.Clear();
  slot->due_ns = due_ns;
  outstanding_.fetch_add(1);
  if (phase_.load() == kMeasuring) issued_.fetch_add(1, std::memory_order_relaxed);
  slot->stub->UnaryCall(slot->context.get(), options_.method, grpc::StubOptions(),
                        &slot->request, &slot->response,
                        [this, slot](grpc::Status status) { OnDone(slot, status); });
}

void LoadGenerator::Record(Slot* slot, const grpc::Status& status, int64_t now_ns) {
  const int phase = phase_.load();
  if (phase == kWarmup && !status.ok()) warmup_errors_.fetch_add(1);
  if (phase != kMeasuring) return;
  if (status.ok()) {
    latency_.Record(static_cast<uint64_t>(now_ns - slot->due_ns));
    ok_.fetch_add(1, std::memory_order_relaxed);
    std::string label = check_ ? check_(slot->response) : std::string();
    if (!label.empty()) {
      absl::MutexLock lock(&mu_);
      ++labels_[label];
    }
  } else {
    const int code = static_cast<int>(status.error_code());
    if (code >= 0 && code < static_cast<int>(errors_by_code_.size())) {
      if (errors_by_code_[code].fetch_add(1) == 0) {
        absl::MutexLock lock(&mu_);
        first_error_.emplace(code, status.error_message());
      }
    }
  }
  const uint64_t n = recorded_.fetch_add(1) + 1;
  if (options_.max_recorded > 0 && n >= options_.max_recorded) EnterStopping();
}

void LoadGenerator::OnDone(Slot* slot, const grpc::Status& status) {
  const int64_t now = NowNs();
  Record(slot, status, now);
  const bool again = phase_.load() != kStopping;
  if (again && options_.rate <= 0) {
    // Closed loop: the slot's next call starts now. outstanding_ goes up in
    // Issue before it goes down here, so WaitIdle never sees a false zero.
    Issue(slot, now);
  } else if (options_.rate > 0) {
    absl::MutexLock lock(&mu_);
    free_.push_back(slot);
  }
  outstanding_.fetch_sub(1);
}

void LoadGenerator::Pace() {
  const int64_t start = NowNs();
  const double period_ns = 1e9 / options_.rate;
  for (uint64_t i = 0;; ++i) {
    const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * period_ns);
    const int64_t wait = due - NowNs();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    Slot* slot = nullptr;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !free_.empty() || phase_.load() == kStopping;
      };
      mu_.Await(absl::Condition(&ready));
      if (phase_.load() == kStopping) return;
      slot = free_.back();
      free_.pop_back();
    }
    Issue(slot, due);
  }
}

LoadResults LoadGenerator::Results() const {
  LoadResults r;
  const int64_t begin = begin_ns_.load();
  const int64_t stop = stop_ns_.load() != 0 ? stop_ns_.load() : NowNs();
  r.window_s = begin == 0 ? 0 : static_cast<double>(stop - begin) / 1e9;
  r.ok = ok_.load();
  r.issued = issued_.load();
  r.warmup_errors = warmup_errors_.load();
  absl::MutexLock lock(&mu_);
  for (size_t code = 0; code < errors_by_code_.size(); ++code) {
    const uint64_t n = errors_by_code_[code].load();
    if (n == 0) continue;
    const std::string name = GrpcCodeName(static_cast<grpc::StatusCode>(code));
    r.errors += n;
    r.errors_by_code[name] = n;
    auto it = first_error_.find(static_cast<int>(code));
    if (it != first_error_.end()) r.first_error[name] = it->second;
  }
  r.response_labels = labels_;
  return r;
}

}  // namespace gatehouse::bench
