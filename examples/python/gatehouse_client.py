"""A small Gatehouse Exchange client, written as an integrator would: grpcio
with its stock TLS settings (the CA, the system's key and certificate, and
the gateway's address; no target-name override, no custom verifier).

Example:
    stubs = generate_stubs("/tmp/gatehouse-stubs")
    with Client("localhost:7101", "ca.crt", "ehr.crt", "ehr.key") as c:
        receipt = c.submit({"recipient_org": "council-a", ...}, b"{...}", "key-1")
        for record in c.fetch_all():
            ...
        c.ack([record.record_id])
        for event in c.watch(cursor):  # blocks, following arrivals and states
            ...

Errors are grpc.RpcError; its code() says what to do (docs/clients.md):
INVALID_ARGUMENT fix the request, PERMISSION_DENIED the policy said no,
UNAVAILABLE retry with the same idempotency key, RESOURCE_EXHAUSTED wait.
error_details(err) reads the richer error model's details: the stable
reason, the field at fault, the deciding rule, the delay before a retry.

Stubs are generated from proto/ at run time with Debian's python3-grpc-tools
(generate_stubs); nothing generated is kept in the repository.
"""

import glob
import hashlib
import os
import sys

import grpc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
# google/rpc/status.proto and error_details.proto, from Debian's
# golang-github-gogo-googleapis-dev (the package that ships these .proto files).
GOOGLEAPIS_DIR = "/usr/share/gocode/src/github.com/gogo/googleapis"


def generate_stubs(out_dir, proto_dir=PROTO_DIR):
    """Generates the gatehouse.v1 Python modules into out_dir and makes them
    importable. Raises RuntimeError if protoc fails."""
    from grpc_tools import protoc  # python3-grpc-tools

    os.makedirs(out_dir, exist_ok=True)
    protos = sorted(glob.glob(os.path.join(proto_dir, "gatehouse", "v1", "*.proto")))
    rc = protoc.main(["protoc", "-I" + proto_dir, "--python_out=" + out_dir,
                      "--grpc_python_out=" + out_dir] + protos)
    if rc != 0:
        raise RuntimeError("protoc failed (%d) on %s" % (rc, proto_dir))
    rpc = [os.path.join(GOOGLEAPIS_DIR, "google", "rpc", n + ".proto")
           for n in ("status", "error_details")]
    rc = protoc.main(["protoc", "-I" + GOOGLEAPIS_DIR, "--python_out=" + out_dir] + rpc)
    if rc != 0:
        raise RuntimeError("protoc failed (%d) on %s" % (rc, GOOGLEAPIS_DIR))
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


class ErrorDetails:
    """What a refusal says beyond its code and message (docs/clients.md,
    "Errors"): reason and domain (ErrorInfo), metadata (e.g. "rule",
    "allowedValues"), fields (BadRequest: field path -> description) and
    retry_delay in seconds (RetryInfo; None when no retry is due)."""

    def __init__(self):
        self.reason = ""
        self.domain = ""
        self.metadata = {}
        self.fields = {}
        self.retry_delay = None


def error_details(err):
    """The richer error model's details of a grpc.RpcError, decoded from its
    grpc-status-details-bin trailer; an empty ErrorDetails when it has none
    (a certificate refusal: its reason leads err.details() instead)."""
    from google.rpc import error_details_pb2, status_pb2

    out = ErrorDetails()
    for key, value in (err.trailing_metadata() or ()):
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad = error_details_pb2.BadRequest()
            retry = error_details_pb2.RetryInfo()
            if any_detail.Unpack(info):
                out.reason, out.domain = info.reason, info.domain
                out.metadata = dict(info.metadata)
            elif any_detail.Unpack(bad):
                out.fields = {v.field: v.description for v in bad.field_violations}
            elif any_detail.Unpack(retry):
                out.retry_delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return out


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class Client:
    """One system's connection to its organisation's gateway. Not shared
    between processes; a grpcio channel may be used from several threads."""

    def __init__(self, address, ca_file, cert_file, key_file, timeout=30):
        from gatehouse.v1 import exchange_pb2, exchange_pb2_grpc

        self._pb = exchange_pb2
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca_file),
            private_key=_read(key_file),
            certificate_chain=_read(cert_file))
        self._channel = grpc.secure_channel(address, credentials)
        self._stub = exchange_pb2_grpc.ExchangeStub(self._channel)
        self._timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._channel.close()

    def submit(self, labels, payload, idempotency_key):
        """Sends one record; returns its Receipt. `labels` is a dict of
        gatehouse.v1.Labels fields. A retry with the same idempotency key
        returns the first receipt and creates no second record."""
        from gatehouse.v1 import labels_pb2

        request = self._pb.SubmitRequest(labels=labels_pb2.Labels(**labels), payload=payload,
                                         idempotency_key=idempotency_key)
        return self._stub.Submit(request, timeout=self._timeout).receipt

    def fetch_all(self):
        """Every record waiting for this system, oldest first, a page at a
        time (a page never exceeds grpcio's default 4 MiB receive limit).
        Records stay until acknowledged."""
        token = ""
        while True:
            page = self._stub.Fetch(self._pb.FetchRequest(page_token=token),
                                    timeout=self._timeout)
            yield from page.records
            token = page.next_page_token
            if not token:
                return

    def ack(self, record_ids):
        """Acknowledges fetched records; returns how many left the mailbox."""
        request = self._pb.AckRequest(record_ids=list(record_ids))
        return self._stub.Ack(request, timeout=self._timeout).acked

    def watch(self, cursor=""):
        """Follows the caller's records: an iterator of WatchEvents (arrived:
        a record reached the mailbox, take it with fetch_all; changed: a
        record it submitted changed state, with its Receipt; caught_up: the
        backlog is sent). Resume after a reconnect with the cursor of the
        last event handled: nothing is missed or repeated. The iterator has
        no deadline; cancel() it to stop."""
        return self._stub.Watch(self._pb.WatchRequest(cursor=cursor))

    def status(self, record_id=""):
        """The caller's identity and queue depths, and the receipt of
        record_id (one this system submitted) if given."""
        request = self._pb.StatusRequest(record_id=record_id)
        return self._stub.Status(request, timeout=self._timeout)


def key_id(public_key):
    """The 8-byte id of an Ed25519 verification key (docs/envelope.md,
    "Key ids"): BLAKE2b-128 over "gatehouse/v1/key-id", 0x00, the purpose
    byte 0x02 and the key, first 8 bytes."""
    return hashlib.blake2b(b"gatehouse/v1/key-id\x00\x02" + public_key,
                           digest_size=16).digest()[:8]


def _batch_root(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2: the root `path` leads to from `leaf` at
    `index` in a tree of `size` leaves (RFC 6962 SHA-256 hashing)."""
    if index >= size:
        raise ValueError("the receipt's batch index is outside its batch")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != 32:
            raise ValueError("the receipt's batch path is malformed")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the receipt's batch path is malformed")
    return r


def signed_message(signed):
    """The bytes a receipt's signature covers (peer.proto SignedReceipt):
    the receipt's own for a receipt signed alone; for one signed with a
    batch, the batch's size and the root its path leads to."""
    own = b"gatehouse.receipt.v1\x00" + signed.receipt
    if signed.batch_size == 0:
        if signed.batch_index != 0 or len(signed.batch_path) != 0:
            raise ValueError("a receipt signed alone carries a batch path")
        return own
    leaf = hashlib.sha256(b"\x00" + own).digest()
    root = _batch_root(signed.batch_index, signed.batch_size, leaf, list(signed.batch_path))
    return b"gatehouse.receipt-batch.v1\x00" + signed.batch_size.to_bytes(8, "big") + root


def check_receipt(signed, verification_keys, record_id, receiver_org):
    """Checks a Receipt's signed_delivery against the receiving
    organisation's verification keys (Organisation.verification_keys in the
    directory) with libsodium (Debian's python3-nacl), and that it is the
    receipt for `record_id` from `receiver_org`; a receipt signed with its
    batch is checked by its path to the batch's root. Returns the parsed
    DeliveryReceipt; raises ValueError if any check fails."""
    from gatehouse.v1 import peer_pb2
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    keys = [k for k in verification_keys if key_id(k) == signed.key_id]
    if not keys:
        raise ValueError("no verification key of %s has id %s" % (receiver_org, signed.key_id.hex()))
    try:
        VerifyKey(keys[0]).verify(signed_message(signed), signed.signature)
    except BadSignatureError as e:
        raise ValueError("the receipt's signature does not verify") from e
    receipt = peer_pb2.DeliveryReceipt.FromString(signed.receipt)
    if receipt.record_id != record_id or receipt.receiver_org != receiver_org:
        raise ValueError("the receipt is for record %s from %s" % (receipt.record_id,
                                                                   receipt.receiver_org))
    return receipt
