#include "tools/workbench/bounded_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace gatehouse::workbench {
namespace {

// The child: limits itself, works, writes the answer, exits at once.
[[noreturn]] void ChildMain(int out_fd, size_t memory_limit,
                            const std::function<std::string()>& work) {
  // Other runs' pipes (and the listening socket) are not this child's to
  // hold: a copy of another run's write end would delay that run's end.
  close_range(3, static_cast<unsigned>(out_fd) - 1, 0);
  close_range(static_cast<unsigned>(out_fd) + 1, ~0U, 0);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (memory_limit > 0) {
    rlimit limit{memory_limit, memory_limit};
    setrlimit(RLIMIT_AS, &limit);
  }
#else
  (void)memory_limit;  // a sanitizer reserves terabytes of address space
#endif
  const std::string answer = work();
  size_t done = 0;
  while (done < answer.size()) {
    const ssize_t n = write(out_fd, answer.data() + done, answer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    done += static_cast<size_t>(n);
  }
  _exit(0);
}

int MillisLeft(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms <= 0 ? 0 : static_cast<int>(ms > 1000000 ? 1000000 : ms);
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

absl::StatusOr<std::string> BoundedRunner::Run(const std::function<std::string()>& work) {
  const absl::Time deadline = absl::Now() + options_.deadline;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(MillisLeft(deadline));
    if (!freed_.wait_until(lock, until, [&] { return running_ < options_.slots; })) {
      return absl::DeadlineExceededError(
          "the workbench is busy with other analyses; try again in a moment");
    }
    ++running_;
  }
  absl::StatusOr<std::string> out = RunInChild(work, deadline);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  freed_.notify_one();
  return out;
}

absl::StatusOr<std::string> BoundedRunner::RunInChild(const std::function<std::string()>& work,
                                                      absl::Time deadline) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    ChildMain(fds[1], options_.memory_limit, work);
  }
  close(fds[1]);
  std::string out;
  char buffer[65536];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    // Past the deadline the analysis is stopped even if its answer is
    // waiting (poll with no time left would still report it ready): the
    // limit holds however late this thread was scheduled.
    const int left = MillisLeft(deadline);
    const int ready = left == 0 ? 0 : poll(&p, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      close(fds[0]);
      KillAndReap(pid);
      return absl::DeadlineExceededError(absl::StrCat(
          "the analysis took longer than ", absl::FormatDuration(options_.deadline),
          " and was stopped; the server is still serving. A policy this costly to analyse "
          "will be slow for gateways too: split wide rules or declare fewer values"));
    }
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > options_.max_output) {
      close(fds[0]);
      KillAndReap(pid);
      return absl::ResourceExhaustedError("the answer is too large to send");
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        "the analysis stopped before it answered (it may have needed more memory than the "
        "workbench allows); the server is still serving");
  }
  return out;
}

}  // namespace gatehouse::workbench
