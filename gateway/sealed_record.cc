#include "gateway/sealed_record.h"

#include "gateway/record/labels.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse {

// The keys a held record is opened against (see OpenRecord).
static absl::StatusOr<std::vector<envelope::VerifyingKey>> HeldRecordKeys(
    const DirectorySnapshot& directory, const std::string& sender_org,
    absl::string_view recorded_key) {
  if (recorded_key.empty()) return directory.SenderKeys(sender_org);
  absl::StatusOr<envelope::PublicKey> key = envelope::PublicKeyFromBytes(recorded_key);
  if (!key.ok()) {
    return absl::DataLossError(
        absl::StrCat("the key recorded with the held record is damaged: ", key.status().message()));
  }
  return std::vector<envelope::VerifyingKey>{
      {envelope::DeriveKeyId(envelope::KeyPurposeByte::kSigning, *key), *key}};
}

absl::StatusOr<OpenedContent> OpenRecord(const GatewayContext& ctx,
                                         const DirectorySnapshot& directory,
                                         absl::string_view envelope,
                                         const std::string& sender_org,
                                         absl::string_view recorded_key) {
  ASSIGN_OR_RETURN(std::vector<envelope::VerifyingKey> keys,
                   HeldRecordKeys(directory, sender_org, recorded_key));
  ASSIGN_OR_RETURN(envelope::OpenedRecord opened,
                   ctx.keys->Current()->opener->Open(envelope, {sender_org, ctx.config->org_id()}, keys));
  OpenedContent out;
  out.header = std::move(opened.header);
  if (!out.content.ParseFromString(opened.payload)) {
    return absl::InvalidArgumentError("the sealed content is not a gatehouse.v1.SealedContent");
  }
  return out;
}

absl::StatusOr<OpenedContent> OpenStreamedRecord(const GatewayContext& ctx,
                                                 const DirectorySnapshot& directory,
                                                 envelope::ByteSource* sealed,
                                                 const std::string& sender_org, ContentSink* sink,
                                                 absl::string_view recorded_key) {
  ASSIGN_OR_RETURN(std::vector<envelope::VerifyingKey> keys,
                   HeldRecordKeys(directory, sender_org, recorded_key));
  OpenedContent out;
  ASSIGN_OR_RETURN(out.header, ctx.keys->Current()->stream_opener->Open(sealed, {sender_org, ctx.config->org_id()},
                                                       keys, sink));
  if (!sink->has_content()) {
    return absl::InvalidArgumentError("the streamed record has no SealedContent frame");
  }
  out.content = sink->content();
  return out;
}

v1::Labels LabelsOf(const OpenedContent& opened) {
  return LabelsOf(opened.header.labels, opened.content);
}

}  // namespace gatehouse
