// Runs a piece of work in a child process that can be stopped: the
// workbench analyses policies that officers type, and some policy can
// always make an exact analysis take too long or too much memory. The work
// runs in a fork()ed child with a memory limit; its answer comes back
// through a pipe; at the deadline the child is killed and the caller told
// so, and the server goes on serving. At most `slots` children run at once
// (the machine's cores); a caller waits for a slot within its deadline.
//
// The child runs only `work` and then _exit()s: no atexit handlers, no
// flushing of the parent's buffers. Should the fork have copied a lock
// another thread held, the child can only hang, and the deadline ends it.
//
// Thread-safe.
//
// Example:
//   BoundedRunner runner({.deadline = absl::Seconds(10)});
//   absl::StatusOr<std::string> out = runner.Run([&] { return Analyse(text); });
#ifndef GATEHOUSE_TOOLS_WORKBENCH_BOUNDED_RUN_H_
#define GATEHOUSE_TOOLS_WORKBENCH_BOUNDED_RUN_H_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gatehouse::workbench {

struct BoundedRunOptions {
  absl::Duration deadline = absl::Seconds(10);  // from Run's call, slot wait included
  size_t max_output = 16u << 20;                // bytes of answer
  size_t memory_limit = size_t{2} << 30;        // the child's address space; 0: none
  int slots = 2;                                // children at once
};

class BoundedRunner {
 public:
  explicit BoundedRunner(BoundedRunOptions options) : options_(options) {}

  // Runs `work` in a child and returns what it returned. Fails, leaving no
  // child behind:
  //   DeadlineExceeded   it did not finish in time (killed), or no slot
  //                      came free in time
  //   ResourceExhausted  its answer was longer than max_output (killed)
  //   Internal           it died (e.g. out of memory) or fork/pipe failed
  absl::StatusOr<std::string> Run(const std::function<std::string()>& work);

 private:
  absl::StatusOr<std::string> RunInChild(const std::function<std::string()>& work,
                                         absl::Time deadline);

  const BoundedRunOptions options_;
  std::mutex mu_;
  std::condition_variable freed_;
  int running_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace gatehouse::workbench

#endif  // GATEHOUSE_TOOLS_WORKBENCH_BOUNDED_RUN_H_
