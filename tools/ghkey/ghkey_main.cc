// ghkey: gateway keysets and the signed directory, for operators and the
// directory authority. A thin main over gateway/envelope.
//
//   ghkey generate --org=ORG --out=FILE [--authority]
//   ghkey list --keyset=FILE
//   ghkey export --keyset=FILE                    (directory entry, JSON, public keys only)
//   ghkey rotate-encryption --keyset=FILE         (new primary X25519 key; old one still opens)
//   ghkey add-signing --keyset=FILE               (new Ed25519 key, published, not yet signing)
//   ghkey promote --keyset=FILE --key-id=HEX      (make a published signing key primary)
//   ghkey remove --keyset=FILE --key-id=HEX       (drop a key that is not primary)
//   ghkey sign-directory --authority=FILE --directory=DIR.json --valid-for=HOURS --out=FILE
//   ghkey verify-directory --trust=AUTHORITY_EXPORT.json --in=FILE
//
// Keyset files are written with mode 0600 and refused if group or others can
// access them. Command line and exit statuses: docs/cli.md (tools/cli/cli.h).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/keyset.h"
#include "envelope/signed_directory.h"
#include "google/protobuf/util/json_util.h"
#include "tools/cli/cli.h"

namespace gatehouse::envelope {
namespace {

using Flags = std::map<std::string, std::string>;

absl::StatusOr<std::string> Flag(const Flags& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing --", name));
  }
  return it->second;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

absl::Status FromJson(const std::string& json, google::protobuf::Message* m, const std::string& what) {
  if (!google::protobuf::util::JsonStringToMessage(json, m).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON for ", m->GetTypeName()));
  }
  return absl::OkStatus();
}

// Loads --keyset, applies `change`, saves it back (atomically, 0600).
template <typename Change>
absl::Status Modify(const Flags& flags, Change change) {
  auto path = Flag(flags, "keyset");
  if (!path.ok()) return path.status();
  auto ks = Keyset::LoadFromFile(*path);
  if (!ks.ok()) return ks.status();
  if (absl::Status s = change(*ks); !s.ok()) return s;
  return ks->SaveToFile(*path);
}

absl::StatusOr<KeyId> KeyIdFlag(const Flags& flags) {
  auto hex = Flag(flags, "key-id");
  if (!hex.ok()) return hex.status();
  return KeyIdFromHex(*hex);
}

absl::Status Generate(const Flags& flags) {
  auto org = Flag(flags, "org");
  auto out = Flag(flags, "out");
  if (!org.ok()) return org.status();
  if (!out.ok()) return out.status();
  if (std::ifstream(*out)) return absl::InvalidArgumentError(absl::StrCat(*out, " exists; not overwriting"));
  const auto kind = flags.count("authority") ? Keyset::Kind::kDirectoryAuthority : Keyset::Kind::kGateway;
  auto ks = Keyset::Generate(*org, kind, absl::Now());
  if (!ks.ok()) return ks.status();
  if (absl::Status s = ks->SaveToFile(*out); !s.ok()) return s;
  std::cout << "wrote " << *out << " (mode 0600)\n";
  return absl::OkStatus();
}

absl::Status List(const Flags& flags) {
  auto path = Flag(flags, "keyset");
  if (!path.ok()) return path.status();
  auto ks = Keyset::LoadFromFile(*path);
  if (!ks.ok()) return ks.status();
  std::cout << "org " << ks->org_id() << "\n";
  for (const Keyset::Key& k : ks->keys()) {
    std::cout << KeyIdToHex(k.id) << "  "
              << (k.purpose == v1::KEY_PURPOSE_ENCRYPTION ? "encryption (X25519)" : "signing (Ed25519)  ")
              << "  " << (k.status == v1::KEY_STATUS_PRIMARY ? "primary" : "enabled") << "  created "
              << absl::FormatTime(absl::FromUnixMillis(k.created_unix_ms), absl::UTCTimeZone()) << "\n";
  }
  return absl::OkStatus();
}

absl::Status Export(const Flags& flags) {
  auto path = Flag(flags, "keyset");
  if (!path.ok()) return path.status();
  auto ks = Keyset::LoadFromFile(*path);
  if (!ks.ok()) return ks.status();
  std::cout << ToJson(ks->PublicEntry());
  return absl::OkStatus();
}

absl::Status SignDirectoryCommand(const Flags& flags) {
  auto authority_path = Flag(flags, "authority");
  auto directory_path = Flag(flags, "directory");
  auto hours_text = Flag(flags, "valid-for");
  auto out = Flag(flags, "out");
  for (const auto* s : {&authority_path, &directory_path, &hours_text, &out}) {
    if (!s->ok()) return s->status();
  }
  int64_t hours = 0;
  if (!absl::SimpleAtoi(*hours_text, &hours) || hours <= 0) {
    return absl::InvalidArgumentError("--valid-for must be a positive number of hours");
  }
  auto authority = Keyset::LoadFromFile(*authority_path);
  if (!authority.ok()) return authority.status();
  auto json = ReadFile(*directory_path);
  if (!json.ok()) return json.status();
  v1::Directory directory;
  if (absl::Status s = FromJson(*json, &directory, *directory_path); !s.ok()) return s;
  const absl::Time now = absl::Now();
  auto signed_dir = SignDirectory(directory, *authority, now, now + absl::Hours(hours));
  if (!signed_dir.ok()) return signed_dir.status();
  if (absl::Status s = WriteFile(*out, signed_dir->SerializeAsString()); !s.ok()) return s;
  std::cout << "signed directory version " << directory.version() << " with key "
            << KeyIdToHex(*KeyIdFromBytes(signed_dir->key_id())) << ", valid " << hours << " h, wrote " << *out << "\n";
  return absl::OkStatus();
}

absl::Status VerifyDirectoryCommand(const Flags& flags) {
  auto trust_path = Flag(flags, "trust");
  auto in = Flag(flags, "in");
  if (!trust_path.ok()) return trust_path.status();
  if (!in.ok()) return in.status();
  auto trust_json = ReadFile(*trust_path);
  if (!trust_json.ok()) return trust_json.status();
  v1::Organisation authority;
  if (absl::Status s = FromJson(*trust_json, &authority, *trust_path); !s.ok()) return s;
  auto keys = VerifyingKeysFromDirectory(authority);
  if (!keys.ok()) return keys.status();
  auto bytes = ReadFile(*in);
  if (!bytes.ok()) return bytes.status();
  auto directory = VerifySignedDirectory(*bytes, *keys, absl::Now());
  if (!directory.ok()) return directory.status();
  std::cout << ToJson(*directory);
  return absl::OkStatus();
}

absl::Status Run(const std::string& command, const Flags& flags) {
  if (command == "generate") return Generate(flags);
  if (command == "list") return List(flags);
  if (command == "export") return Export(flags);
  if (command == "rotate-encryption") {
    return Modify(flags, [](Keyset& ks) {
      auto id = ks.RotateEncryptionKey(absl::Now());
      if (id.ok()) std::cout << "new primary encryption key " << KeyIdToHex(*id) << "; publish it with export\n";
      return id.status();
    });
  }
  if (command == "add-signing") {
    return Modify(flags, [](Keyset& ks) {
      auto id = ks.AddSigningKey(absl::Now());
      if (id.ok()) {
        std::cout << "new signing key " << KeyIdToHex(*id)
                  << " (enabled, not signing); publish it, then promote it\n";
      }
      return id.status();
    });
  }
  if (command == "promote" || command == "remove") {
    auto id = KeyIdFlag(flags);
    if (!id.ok()) return id.status();
    return Modify(flags, [&](Keyset& ks) {
      return command == "promote" ? ks.PromoteSigningKey(*id) : ks.RemoveKey(*id);
    });
  }
  if (command == "sign-directory") return SignDirectoryCommand(flags);
  if (command == "verify-directory") return VerifyDirectoryCommand(flags);
  return absl::InvalidArgumentError(absl::StrCat("unknown command ", command));
}

// One command's flags: each takes a value and is required, except the
// switches (no value).
struct FlagSpec {
  const char* name;
  const char* value;  // what the value is, as help shows it; "" for a switch
  const char* help;
  enum { kRequired, kSwitch } kind = kRequired;
};
struct CommandSpec {
  const char* name;
  const char* help;
  std::vector<FlagSpec> flags;
};

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"generate", "Write a new keyset (mode 0600); refuses to overwrite",
       {{"org", "ORG", "The organisation the keyset is for"},
        {"out", "FILE", "Where to write it"},
        {"authority", "", "A directory authority's keyset, not a gateway's", FlagSpec::kSwitch}}},
      {"list", "List a keyset's keys", {{"keyset", "FILE", "The keyset file"}}},
      {"export", "Print the directory entry (JSON, public keys only)", {{"keyset", "FILE", "The keyset file"}}},
      {"rotate-encryption", "Make a new primary X25519 key; the old one still opens",
       {{"keyset", "FILE", "The keyset file"}}},
      {"add-signing", "Add an Ed25519 key, published but not yet signing", {{"keyset", "FILE", "The keyset file"}}},
      {"promote", "Make a published signing key primary",
       {{"keyset", "FILE", "The keyset file"}, {"key-id", "HEX", "The key's id, as list prints it"}}},
      {"remove", "Drop a key that is not primary",
       {{"keyset", "FILE", "The keyset file"}, {"key-id", "HEX", "The key's id, as list prints it"}}},
      {"sign-directory", "Sign a directory as the directory authority",
       {{"authority", "FILE", "The authority's keyset"},
        {"directory", "DIR.json", "The directory to sign"},
        {"valid-for", "HOURS", "How long the signature is valid"},
        {"out", "FILE", "Where to write the signed directory"}}},
      {"verify-directory", "Verify a signed directory and print it",
       {{"trust", "AUTHORITY_EXPORT.json", "The authority's export"},
        {"in", "FILE", "The signed directory"}}},
  };
  return *commands;
}

int Main(int argc, char** argv) {
  CLI::App app{"ghkey: gateway keysets and the signed directory, for operators and the\n"
               "directory authority. Keyset files are written with mode 0600 and refused\n"
               "if group or others can access them.",
               "ghkey"};
  cli::Configure(app);
  app.require_subcommand(1);
  for (const CommandSpec& c : Commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    for (const FlagSpec& f : c.flags) {
      const std::string name = std::string("--") + f.name;
      if (f.kind == FlagSpec::kSwitch) {
        sub->add_flag(name, f.help);
      } else {
        sub->add_option(name)->required()->type_name(f.value)->description(f.help);
      }
    }
  }
  if (std::optional<int> exit = cli::Parse(app, argc, argv)) return *exit;
  const CLI::App* chosen = app.get_subcommands().front();
  const std::string command = chosen->get_name();
  const cli::Values given = cli::Values::Of(*chosen);
  Flags flags;
  for (const CommandSpec& c : Commands()) {
    if (c.name != command) continue;
    for (const FlagSpec& f : c.flags) {
      if (given.Has(f.name)) flags[f.name] = f.kind == FlagSpec::kSwitch ? "true" : given.Get(f.name);
    }
  }
  const absl::Status s = Run(command, flags);
  if (!s.ok()) {
    std::fprintf(stderr, "ghkey %s: %s\n", command.c_str(), s.ToString().c_str());
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

}  // namespace
}  // namespace gatehouse::envelope

int main(int argc, char** argv) { return gatehouse::envelope::Main(argc, argv); }
