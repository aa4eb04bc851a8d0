#include "envelope/header.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envelope/wire.h"

namespace gatehouse::envelope {
namespace {

using internal::ByteReader;

absl::Status CheckField(absl::string_view name, absl::string_view value, size_t max,
                        bool required) {
  if (required && value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " is empty"));
  if (value.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is longer than ", max, " bytes"));
  }
  return absl::OkStatus();
}

void PutString(std::string* out, absl::string_view s) {
  internal::PutU16(out, static_cast<uint16_t>(s.size()));
  out->append(s.data(), s.size());
}

bool GetString(ByteReader* r, size_t max, std::string* s) {
  uint16_t n;
  absl::string_view v;
  if (!r->U16(&n) || n > max || !r->Bytes(n, &v)) return false;
  s->assign(v.data(), v.size());
  return true;
}

template <size_t N>
bool GetArray(ByteReader* r, std::array<uint8_t, N>* a) {
  absl::string_view v;
  if (!r->Bytes(N, &v)) return false;
  std::copy(v.begin(), v.end(), a->begin());
  return true;
}

absl::Status CheckLabels(const RecordLabels& l) {
  struct Field {
    absl::string_view name, value;
    size_t max;
    bool required;
  };
  const Field fields[] = {
      {"record_id", l.record_id, kMaxRecordIdBytes, true},
      {"sender_org", l.sender_org, kMaxLabelBytes, true},
      {"recipient_org", l.recipient_org, kMaxLabelBytes, true},
      {"record_type", l.record_type, kMaxLabelBytes, true},
      {"classification", l.classification, kMaxLabelBytes, true},
      {"purpose", l.purpose, kMaxLabelBytes, false},
      {"content_type", l.content_type, kMaxLabelBytes, false},
  };
  for (const Field& f : fields) {
    if (absl::Status s = CheckField(f.name, f.value, f.max, f.required); !s.ok()) return s;
  }
  if (l.caveats.size() > kMaxCaveats) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxCaveats, " caveats"));
  }
  for (const std::string& c : l.caveats) {
    if (absl::Status s = CheckField("caveat", c, kMaxLabelBytes, true); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

bool RecordLabels::operator==(const RecordLabels& o) const {
  return record_id == o.record_id && sender_org == o.sender_org &&
         recipient_org == o.recipient_org && record_type == o.record_type &&
         classification == o.classification && caveats == o.caveats && purpose == o.purpose &&
         created_unix_ms == o.created_unix_ms && content_type == o.content_type;
}

bool EnvelopeHeader::operator==(const EnvelopeHeader& o) const {
  return mode == o.mode && labels == o.labels && sender_key_id == o.sender_key_id &&
         recipient_key_id == o.recipient_key_id && key_commitment == o.key_commitment;
}

absl::Status AppendHeader(const EnvelopeHeader& h, std::string* out) {
  HeaderKeys keys;
  keys.mode = h.mode;
  keys.sender_key_id = h.sender_key_id;
  keys.recipient_key_id = h.recipient_key_id;
  keys.key_commitment = h.key_commitment;
  return AppendHeader(keys, h.labels, out);
}

absl::Status AppendHeader(const HeaderKeys& h, const RecordLabels& l, std::string* out) {
  if (absl::Status s = CheckLabels(l); !s.ok()) return s;
  // Sort caveats by reference, so the caller's order does not matter.
  const std::string* caveats[kMaxCaveats];
  for (size_t i = 0; i < l.caveats.size(); ++i) caveats[i] = &l.caveats[i];
  std::sort(caveats, caveats + l.caveats.size(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 1; i < l.caveats.size(); ++i) {
    if (*caveats[i] == *caveats[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("caveat ", *caveats[i], " repeated"));
    }
  }
  internal::PutU8(out, kHeaderVersion);
  internal::PutU8(out, static_cast<uint8_t>(h.mode));
  PutString(out, l.record_id);
  PutString(out, l.sender_org);
  PutString(out, l.recipient_org);
  PutString(out, l.record_type);
  PutString(out, l.classification);
  internal::PutU8(out, static_cast<uint8_t>(l.caveats.size()));
  for (size_t i = 0; i < l.caveats.size(); ++i) PutString(out, *caveats[i]);
  PutString(out, l.purpose);
  internal::PutU64(out, static_cast<uint64_t>(l.created_unix_ms));
  PutString(out, l.content_type);
  out->append(reinterpret_cast<const char*>(h.sender_key_id.data()), h.sender_key_id.size());
  out->append(reinterpret_cast<const char*>(h.recipient_key_id.data()), h.recipient_key_id.size());
  out->append(reinterpret_cast<const char*>(h.key_commitment.data()), h.key_commitment.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeHeader(const EnvelopeHeader& header) {
  std::string out;
  if (absl::Status s = AppendHeader(header, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<EnvelopeHeader> DecodeHeader(absl::string_view bytes) {
  const absl::Status malformed = absl::InvalidArgumentError("malformed envelope header");
  ByteReader r(bytes);
  EnvelopeHeader h;
  RecordLabels& l = h.labels;
  uint8_t version, mode, caveat_count;
  if (!r.U8(&version) || version != kHeaderVersion) {
    return absl::InvalidArgumentError("unsupported envelope header version");
  }
  if (!r.U8(&mode) || mode < 1 || mode > 3) {
    return absl::InvalidArgumentError("unknown envelope mode");
  }
  h.mode = static_cast<EnvelopeMode>(mode);
  if (!GetString(&r, kMaxRecordIdBytes, &l.record_id) ||
      !GetString(&r, kMaxLabelBytes, &l.sender_org) ||
      !GetString(&r, kMaxLabelBytes, &l.recipient_org) ||
      !GetString(&r, kMaxLabelBytes, &l.record_type) ||
      !GetString(&r, kMaxLabelBytes, &l.classification) || !r.U8(&caveat_count) ||
      caveat_count > kMaxCaveats) {
    return malformed;
  }
  l.caveats.resize(caveat_count);
  for (std::string& c : l.caveats) {
    if (!GetString(&r, kMaxLabelBytes, &c)) return malformed;
  }
  uint64_t created;
  if (!GetString(&r, kMaxLabelBytes, &l.purpose) || !r.U64(&created) ||
      !GetString(&r, kMaxLabelBytes, &l.content_type) || !GetArray(&r, &h.sender_key_id) ||
      !GetArray(&r, &h.recipient_key_id) || !GetArray(&r, &h.key_commitment) || !r.empty()) {
    return malformed;
  }
  l.created_unix_ms = static_cast<int64_t>(created);
  if (absl::Status s = CheckLabels(l); !s.ok()) return s;
  for (size_t i = 1; i < l.caveats.size(); ++i) {
    if (!(l.caveats[i - 1] < l.caveats[i])) {
      return absl::InvalidArgumentError("caveats not in canonical order");
    }
  }
  return h;
}

}  // namespace gatehouse::envelope
