// Opening a sealed record on the receiving side: the sender's verification
// keys come from the directory, the opener checks the signature before it
// unwraps anything, and the plaintext is the SealedContent the sending
// gateway wrapped the payload in (peer.proto).
//
// Thread-safe: pure functions over thread-safe parts.
#ifndef GATEHOUSE_GATEWAY_SEALED_RECORD_H_
#define GATEHOUSE_GATEWAY_SEALED_RECORD_H_

#include <string>

#include "absl/status/statusor.h"
#include "gatehouse/v1/exchange.pb.h"
#include "gatehouse/v1/peer.pb.h"
#include "gateway/context.h"
#include "envelope/byte_stream.h"
#include "envelope/header.h"
#include "gateway/stream_spool.h"

namespace gatehouse {


// Each function reads the directory from the one snapshot its call took.

// Verifies and opens `envelope` from `sender_org` to this gateway's
// organisation: against `recorded_key` (a held record's
// MailboxRecord.sender_key, the key that verified it on arrival) if given,
// else the sender's keys in the directory. Errors as envelope::Opener::Open;
// Unauthenticated if the directory lists no keys for the sender; DataLoss if
// the recorded key is damaged; InvalidArgument if the plaintext is not a
// SealedContent.
absl::StatusOr<OpenedContent> OpenRecord(const GatewayContext& ctx,
                                         const DirectorySnapshot& directory,
                                         absl::string_view envelope,
                                         const std::string& sender_org,
                                         absl::string_view recorded_key = "");

// Verifies and opens a streamed record (envelope::StreamOpener) from
// `sender_org` to this organisation, handing the plaintext to `sink`; the
// returned content has no payload (the sink had it). Errors as OpenRecord;
// InvalidArgument if the plaintext does not start with a SealedContent.
absl::StatusOr<OpenedContent> OpenStreamedRecord(const GatewayContext& ctx,
                                                 const DirectorySnapshot& directory,
                                                 envelope::ByteSource* sealed,
                                                 const std::string& sender_org, ContentSink* sink,
                                                 absl::string_view recorded_key = "");

// The labels as the sending system gave them, from the header and content.
v1::Labels LabelsOf(const OpenedContent& opened);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_SEALED_RECORD_H_
