// envelope_vectors: writes the JSON test vectors under
// tests/testdata/envelope/, one file per case, named after what it breaks.
// Each vector holds the input bytes (hex), the expected parties, the
// expected status code and, for OK, the expected payload; keys are derived
// from the organisations' names (tests/envelope/vector_keys.h), so no key
// bytes are written. tests/envelope/vectors_test.cc checks every file.
//
//   envelope_vectors OUT_DIR
//
// Sealing is randomised (nonces, ephemeral keys), so each run writes
// different bytes with the same meaning.
#include <sodium.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gatehouse/v1/envelope.pb.h"
#include "envelope/batch_sealer.h"
#include "envelope/digest.h"
#include "envelope/envelope_codec.h"
#include "envelope/sealer.h"
#include "envelope/sealing.h"
#include "envelope/signed_directory.h"
#include "envelope/stream.h"
#include "tests/envelope/vector_keys.h"

namespace gatehouse::envelope {
namespace {

using testing::VectorKeyset;

const absl::Time kNow = absl::FromUnixSeconds(1764331200);  // 2025-11-28T12:00:00Z

std::string Hex(absl::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

struct Vector {
  std::string name, description, kind = "envelope", sender = "nhs-trust-a",
                                  recipient = "council-a", input, expected = "OK", payload;
  bool has_payload = false;
};

RecordLabels Labels(const std::string& id, const std::string& recipient = "council-a") {
  RecordLabels l;
  l.record_id = id;
  l.sender_org = "nhs-trust-a";
  l.recipient_org = recipient;
  l.record_type = "discharge_summary";
  l.classification = "OFFICIAL-SENSITIVE";
  l.caveats = {"MEDICAL", "PERSONAL"};
  l.purpose = "direct_care";
  l.created_unix_ms = absl::ToUnixMillis(kNow);
  l.content_type = "application/fhir+json";
  return l;
}

const std::string kPayload = "{\"resourceType\":\"Composition\",\"title\":\"Discharge summary\"}";

// A copy of `env` with one bit flipped at byte `at` of `region`, a view into
// `env`.
std::string FlipIn(const std::string& env, absl::string_view region, size_t at) {
  const size_t i = static_cast<size_t>(region.data() - env.data()) + at;
  std::string copy = env;
  copy.at(i) = static_cast<char>(copy[i] ^ 0x01);
  return copy;
}

class Generator {
 public:
  Generator()
      : health_(std::make_shared<Keyset>(*VectorKeyset("nhs-trust-a"))),
        council_(std::make_shared<Keyset>(*VectorKeyset("council-a"))),
        council_b_(std::make_shared<Keyset>(*VectorKeyset("council-b"))),
        impostor_(std::make_shared<Keyset>(*VectorKeyset("nhs-trust-a-impostor"))),
        authority_(*VectorKeyset("directory-authority", false)),
        to_council_(*council_->PrimaryRecipientKey()) {}

  std::vector<Vector> All() {
    std::vector<Vector> v;
    PerRecord(&v);
    Batch(&v);
    Stream(&v);
    Directory(&v);
    return v;
  }

 private:
  void PerRecord(std::vector<Vector>* out) {
    auto sealer = *Sealer::Create(health_);
    const std::string env = *sealer->Seal(Labels("rec-1"), to_council_, kPayload);
    EnvelopeParts p;
    (void)DecodeEnvelope(env, &p);
    out->push_back({"valid-record", "A per-record envelope that opens.", "envelope", "nhs-trust-a",
                    "council-a", env, "OK", kPayload, true});
    auto refused = [&](std::string name, std::string description, std::string input,
                       std::string expected) {
      out->push_back({std::move(name), std::move(description), "envelope", "nhs-trust-a", "council-a",
                      std::move(input), std::move(expected), "", false});
    };
    refused("signature-bit-flipped", "One bit of the Ed25519 signature flipped.",
            FlipIn(env, p.signature, 10), "UNAUTHENTICATED");
    refused("header-bit-flipped", "One bit of the header (in the classification) flipped.",
            FlipIn(env, p.header, p.header.find("OFFICIAL")), "UNAUTHENTICATED");
    refused("wrapped-key-bit-flipped", "One bit of the wrapped data key flipped.",
            FlipIn(env, p.wrapped_key, 40), "UNAUTHENTICATED");
    refused("nonce-bit-flipped", "One bit of the AEAD nonce flipped.", FlipIn(env, p.nonce, 3),
            "UNAUTHENTICATED");
    refused("ciphertext-bit-flipped", "One bit of the payload ciphertext flipped.",
            FlipIn(env, p.ciphertext, 5), "UNAUTHENTICATED");
    refused("envelope-truncated", "The envelope without its last byte.", env.substr(0, env.size() - 1),
            "INVALID_ARGUMENT");
    refused("unknown-field-appended", "A protobuf field 8 appended: not the canonical encoding.",
            env + std::string("\x42\x01X", 3), "INVALID_ARGUMENT");
    refused("non-minimal-varint", "The version varint written in two bytes.",
            std::string("\x08\x81\x00", 3) + env.substr(2), "INVALID_ARGUMENT");
    {
      // Labels changed: classification downgraded, header re-encoded, old signature kept.
      auto header = *DecodeHeader(p.header);
      header.labels.classification = "OFFICIAL";
      const std::string new_header = *EncodeHeader(header);
      EnvelopeParts q = p;
      q.header = new_header;
      std::string changed;
      AppendEnvelope(q, &changed);
      refused("classification-downgraded", "The header re-encoded with classification OFFICIAL; signature unchanged.",
              changed, "UNAUTHENTICATED");
    }
    {
      auto to_b = *Sealer::Create(health_);
      refused("wrong-recipient", "Sealed to council-b, presented to council-a.",
              *to_b->Seal(Labels("rec-2", "council-b"), *council_b_->PrimaryRecipientKey(), kPayload),
              "INVALID_ARGUMENT");
    }
    {
      RecordLabels l = Labels("rec-3");
      auto impostor = std::make_shared<Keyset>(*Keyset::FromProto([&] {
        v1::KeysetFile f = impostor_->ToProto();
        f.set_org_id("nhs-trust-a");
        return f;
      }()));
      refused("unknown-signing-key", "Signed by a key the directory does not list for the sender.",
              *(*Sealer::Create(impostor))->Seal(l, to_council_, kPayload), "UNAUTHENTICATED");
    }
    refused("commitment-to-other-key",
            "Properly signed by the sender, but the header commits to a different data key than the wrapped one.",
            CommitmentToOtherKey(), "UNAUTHENTICATED");
  }

  std::string CommitmentToOtherKey() {
    const SecretKey data_key = SecretKey::Random(32), other = SecretKey::Random(32);
    EnvelopeHeader h;
    h.labels = Labels("rec-4");
    const Keyset::Key& signing = *health_->Primary(v1::KEY_PURPOSE_SIGNING);
    h.sender_key_id = signing.id;
    h.recipient_key_id = to_council_.id;
    h.key_commitment = internal::KeyCommitment(other);
    const std::string header = *EncodeHeader(h);
    uint8_t wrapped[80], nonce[24], sig[64];
    randombytes_buf(nonce, sizeof nonce);
    (void)internal::WrapDataKey(data_key, to_council_, wrapped);
    std::string ad;
    internal::PayloadAd(header, &ad);
    std::string ct(kPayload.size() + 16, '\0');
    internal::EncryptPayload(data_key, ad, nonce, kPayload, reinterpret_cast<uint8_t*>(ct.data()));
    internal::Sign(signing, internal::RecordSignedMessage(internal::RecordDigest(
                                header, AsStringView(wrapped, 80), AsStringView(nonce, 24), ct)),
                   sig);
    EnvelopeParts p;
    p.header = header;
    p.wrapped_key = AsStringView(wrapped, 80);
    p.nonce = AsStringView(nonce, 24);
    p.ciphertext = ct;
    p.signature = AsStringView(sig, 64);
    std::string env;
    AppendEnvelope(p, &env);
    return env;
  }

  void Batch(std::vector<Vector>* out) {
    auto batch = *BatchSealer::Create(health_);
    for (int i = 0; i < 5; ++i) (void)batch->Add(Labels(absl::StrCat("batch-", i)), to_council_, kPayload + std::to_string(i));
    const std::vector<std::string> envs = batch->Finish();
    out->push_back({"valid-batch-leaf-2-of-5", "Record 2 of a signed batch of 5, with its inclusion path.",
                    "envelope", "nhs-trust-a", "council-a", envs[2], "OK", kPayload + "2", true});
    v1::Envelope victim, donor;
    victim.ParseFromString(envs[3]);
    donor.ParseFromString(envs[1]);
    *victim.mutable_batch() = donor.batch();
    out->push_back({"batch-path-from-another-record", "Record 3 carrying record 1's inclusion proof.",
                    "envelope", "nhs-trust-a", "council-a", victim.SerializeAsString(), "UNAUTHENTICATED", "", false});
    victim.ParseFromString(envs[3]);
    victim.mutable_batch()->set_leaf_index(4);
    out->push_back({"batch-leaf-index-changed", "Record 3 claiming leaf index 4.", "envelope", "nhs-trust-a",
                    "council-a", victim.SerializeAsString(), "UNAUTHENTICATED", "", false});
    victim.ParseFromString(envs[3]);
    victim.mutable_batch()->mutable_path(1)->at(0) ^= 1;
    out->push_back({"batch-path-hash-bit-flipped", "One bit of a sibling hash in the inclusion path flipped.",
                    "envelope", "nhs-trust-a", "council-a", victim.SerializeAsString(), "UNAUTHENTICATED", "", false});
    victim.ParseFromString(envs[3]);
    victim.clear_batch();
    out->push_back({"batch-proof-stripped", "A batch-mode envelope without its inclusion proof.", "envelope",
                    "nhs-trust-a", "council-a", victim.SerializeAsString(), "INVALID_ARGUMENT", "", false});
  }

  std::string SealStream(const std::string& payload) {
    auto sealer = *StreamSealer::Create(health_, 16);
    StringSource in(payload);
    StringSink out;
    (void)sealer->Seal(Labels("big-1"), to_council_, &in, &out);
    return out.contents();
  }

  static std::vector<std::string> Frames(const std::string& s, std::string* head, std::string* tail) {
    auto u32 = [&](size_t at) {
      return (uint32_t{static_cast<uint8_t>(s[at])} << 24) | (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
             (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(s[at + 3])};
    };
    size_t pos = 4 + u32(0);
    *head = s.substr(0, pos);
    std::vector<std::string> chunks;
    while (uint32_t len = u32(pos)) {
      chunks.push_back(s.substr(pos, 4 + len));
      pos += 4 + len;
    }
    *tail = s.substr(pos);
    return chunks;
  }

  void Stream(std::vector<Vector>* out) {
    const std::string payload = "0123456789abcdef0123456789abcdef0123456789abcdef0123";  // 4 chunks of 16
    const std::string sealed = SealStream(payload);
    out->push_back({"valid-stream", "A streamed record in 16-byte chunks.", "stream", "nhs-trust-a", "council-a",
                    sealed, "OK", payload, true});
    std::string head, tail;
    auto join = [&](const std::vector<std::string>& c) {
      std::string s = head;
      for (const auto& x : c) s += x;
      return s + tail;
    };
    std::vector<std::string> c = Frames(sealed, &head, &tail);
    std::swap(c[1], c[2]);
    out->push_back({"stream-chunks-reordered", "Chunks 1 and 2 swapped.", "stream", "nhs-trust-a", "council-a",
                    join(c), "UNAUTHENTICATED", "", false});
    c = Frames(sealed, &head, &tail);
    c.erase(c.begin() + 1);
    out->push_back({"stream-chunk-dropped", "Chunk 1 removed.", "stream", "nhs-trust-a", "council-a", join(c),
                    "UNAUTHENTICATED", "", false});
    c = Frames(sealed, &head, &tail);
    c.insert(c.begin() + 1, c[1]);
    out->push_back({"stream-chunk-duplicated", "Chunk 1 repeated.", "stream", "nhs-trust-a", "council-a", join(c),
                    "UNAUTHENTICATED", "", false});
    c = Frames(sealed, &head, &tail);
    c.pop_back();
    out->push_back({"stream-final-chunk-dropped", "The final chunk removed.", "stream", "nhs-trust-a", "council-a",
                    join(c), "UNAUTHENTICATED", "", false});
    out->push_back({"stream-truncated", "The stream without its signature.", "stream", "nhs-trust-a", "council-a",
                    sealed.substr(0, sealed.size() - 64), "INVALID_ARGUMENT", "", false});
  }

  void Directory(std::vector<Vector>* out) {
    v1::Directory d;
    d.set_version(7);
    *d.add_organisations() = health_->PublicEntry();
    *d.add_organisations() = council_->PublicEntry();
    const std::string good = SignDirectory(d, authority_, kNow, kNow + absl::Hours(24))->SerializeAsString();
    out->push_back({"valid-directory", "A directory signed by the authority, valid at now_unix_ms.",
                    "signed_directory", "", "", good, "OK", d.SerializeAsString(), true});
    v1::SignedDirectory sd;
    sd.ParseFromString(good);
    sd.clear_signature();
    out->push_back({"directory-unsigned", "The signature removed.", "signed_directory", "", "",
                    sd.SerializeAsString(), "UNAUTHENTICATED", "", false});
    sd.ParseFromString(good);
    d.mutable_organisations(0)->set_gateway_address("203.0.113.9:7101");
    sd.set_directory(d.SerializeAsString());
    out->push_back({"directory-gateway-address-changed", "An organisation's gateway address changed after signing.",
                    "signed_directory", "", "", sd.SerializeAsString(), "UNAUTHENTICATED", "", false});
    sd.ParseFromString(good);
    sd.set_not_after_unix_ms(sd.not_after_unix_ms() + 86400000);
    out->push_back({"directory-expiry-extended", "The expiry moved a day later after signing.", "signed_directory",
                    "", "", sd.SerializeAsString(), "UNAUTHENTICATED", "", false});
    const std::string expired =
        SignDirectory(d, authority_, kNow - absl::Hours(48), kNow - absl::Hours(24))->SerializeAsString();
    out->push_back({"directory-expired", "Properly signed, but expired a day before now_unix_ms.",
                    "signed_directory", "", "", expired, "UNAUTHENTICATED", "", false});
  }

  std::shared_ptr<Keyset> health_, council_, council_b_, impostor_;
  Keyset authority_;
  RecipientKey to_council_;
};

int Write(const std::string& dir, const Vector& v) {
  const std::string path = dir + "/" + v.name + ".json";
  std::ofstream out(path, std::ios::trunc);
  out << "{\n"
      << "  \"description\": " << JsonString(v.description) << ",\n"
      << "  \"kind\": " << JsonString(v.kind) << ",\n";
  if (v.kind == "signed_directory") {
    out << "  \"trusted_authority\": \"directory-authority\",\n"
        << "  \"now_unix_ms\": \"" << absl::ToUnixMillis(kNow) << "\",\n";
  } else {
    out << "  \"sender_org\": " << JsonString(v.sender) << ",\n"
        << "  \"recipient_org\": " << JsonString(v.recipient) << ",\n";
  }
  out << "  \"keys\": \"derived from organisation names: docs/envelope.md, Test vectors\",\n"
      << "  \"input_hex\": \"" << Hex(v.input) << "\",\n"
      << "  \"expected_status\": " << JsonString(v.expected);
  if (v.has_payload) {
    out << ",\n  \"expected_" << (v.kind == "signed_directory" ? "directory" : "payload") << "_hex\": \""
        << Hex(v.payload) << "\"";
  }
  out << "\n}\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace gatehouse::envelope

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  if (sodium_init() < 0) return 1;
  gatehouse::envelope::Generator g;
  int n = 0;
  for (const auto& v : g.All()) {
    if (gatehouse::envelope::Write(argv[1], v) != 0) return 1;
    ++n;
  }
  std::printf("wrote %d vectors to %s\n", n, argv[1]);
  return 0;
}
