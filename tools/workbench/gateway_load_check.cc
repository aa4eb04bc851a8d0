// gateway_load_check: loads a policy bundle exactly as a gateway does (the
// gateway's own PolicyHolder, with the officers' .pub files and a floor of
// signatures) and says whether it would run with it. Test-only: the
// workbench's browser test hands it the bundle the officers approved in the
// page, so that "a bundle a gateway loads" is checked by the gateway's
// code, not by policyc. Not installed.
//
//   gateway_load_check BUNDLE MIN OFFICER.pub...
//   -> "gateway loaded policy 'NAME' version 'V' (N signatures required)",
//      exit 0; or
//      "gateway refused BUNDLE: why", exit 1; usage errors exit 2.
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/policy_holder.h"

int main(int argc, char** argv) {
  int min = 0;
  if (argc < 4 || !absl::SimpleAtoi(argv[2], &min) || min < 1) {
    std::fprintf(stderr, "usage: gateway_load_check BUNDLE MIN OFFICER.pub...\n");
    return 2;
  }
  gatehouse::v1::PolicyConfig config;
  config.set_bundle_file(argv[1]);
  config.set_min_signatures(min);
  for (int i = 3; i < argc; ++i) config.add_officer_key_files(argv[i]);
  auto holder = gatehouse::PolicyHolder::Load(config);
  if (!holder.ok()) {
    std::printf("gateway refused %s: %s\n", argv[1], holder.status().ToString().c_str());
    return 1;
  }
  const auto live = (*holder)->live();
  std::printf("gateway loaded policy '%s' version '%s' (%d signatures required)\n",
              live->name.c_str(), live->version.c_str(), live->required_signatures);
  return 0;
}
