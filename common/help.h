// --help for every program: asked for anywhere on the command line, the
// program prints its usage on stdout and exits 0, before it reads anything
// else (so `tool --help` works whatever the tool's other flags need).
//
// Example:
//   if (WantsHelp(argc, argv)) return PrintHelp(kUsage);
//
// Thread-safe: pure functions of their arguments.
#ifndef GATEHOUSE_COMMON_HELP_H_
#define GATEHOUSE_COMMON_HELP_H_

#include <cstdio>
#include <cstring>

namespace gatehouse {

inline bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return true;
  }
  return false;
}

// Prints `usage` on stdout; returns 0, the exit status for --help.
inline int PrintHelp(const char* usage) {
  std::fputs(usage, stdout);
  return 0;
}

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_HELP_H_
