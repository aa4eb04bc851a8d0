// A small Gatehouse Exchange client, written as an integrator would:
// @grpc/grpc-js with its stock TLS settings (the CA, the system's key and
// certificate, and the gateway's address; no checkServerIdentity, no
// target-name override).
//
// Example:
//   const client = new Client("localhost:7101", { ca: "ca.crt", cert: "ehr.crt", key: "ehr.key" });
//   const receipt = await client.submit({ recipient_org: "council-a", ... }, payload, "key-1");
//   for await (const record of client.fetchAll()) { ... }
//   await client.ack([record.record_id]);
//   client.close();
//
// Every call returns a Promise. A refusal rejects it with grpc-js's
// ServiceError; its `code` (grpc.status) says what to do (docs/clients.md):
// INVALID_ARGUMENT fix the request, PERMISSION_DENIED the policy said no,
// UNAVAILABLE retry with the same idempotency key, RESOURCE_EXHAUSTED wait.
//
// The .proto files are loaded from proto/ at run time with
// @grpc/proto-loader; nothing generated is kept in the repository. Messages
// are plain objects with the .proto's field names (snake_case), enums as
// their names ("RECORD_STATE_DELIVERED"), int64 as Number, bytes as Buffer.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import crypto from "node:crypto";
import path from "node:path";
import fs from "node:fs";
import protobuf from "protobufjs";

export { grpc };

export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
// google/rpc/status.proto and error_details.proto, from Debian's
// golang-github-gogo-googleapis-dev (the package that ships these .proto files).
export const GOOGLEAPIS_DIR = "/usr/share/gocode/src/github.com/gogo/googleapis";

// The gatehouse.v1 package (its service constructors), loaded from protoDir.
export function loadExchange(protoDir = PROTO_DIR) {
  const definition = protoLoader.loadSync("gatehouse/v1/exchange.proto", {
    includeDirs: [protoDir],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true, // a oneof's case as a field: WatchEvent.event is "arrived", ...
  });
  return grpc.loadPackageDefinition(definition).gatehouse.v1;
}

let rpcTypes = null;
let gatehouseTypes = null;

// The gatehouse.v1 messages as protobufjs types, for decoding bytes that
// arrive inside other messages (a receipt, the directory).
function gatehouseType(name, protoDir = PROTO_DIR) {
  if (gatehouseTypes === null) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(protoDir, target);
    root.loadSync(["gatehouse/v1/peer.proto", "gatehouse/v1/directory.proto",
      "gatehouse/v1/envelope.proto"], { keepCase: true });
    gatehouseTypes = root.lookup("gatehouse.v1");
  }
  return gatehouseTypes[name];
}

// The Ed25519 verification keys (32 bytes each) of organisation `org` in
// the signed directory file at `file` (the one the gateways use; checking
// its own signature is the gateways' job, docs/directory.md).
export function verificationKeysOf(file, org) {
  const signed = gatehouseType("SignedDirectory").decode(fs.readFileSync(file));
  const directory = gatehouseType("Directory").decode(signed.directory);
  const found = directory.organisations.find((o) => o.org_id === org);
  if (!found) throw new Error(`${org} is not in the directory`);
  return found.verification_keys;
}

// RFC 9162 section 2.1.3.2: the root `path` leads to from `leaf` at `index`
// in a tree of `size` leaves (RFC 6962 SHA-256 hashing).
function batchRoot(index, size, leaf, path) {
  if (index >= size) throw new Error("the receipt's batch index is outside its batch");
  const sha256 = (...parts) => crypto.createHash("sha256").update(Buffer.concat(parts)).digest();
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of path) {
    if (sn === 0 || p.length !== 32) throw new Error("the receipt's batch path is malformed");
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the receipt's batch path is malformed");
  return r;
}

// The bytes a receipt's signature covers (peer.proto SignedReceipt): the
// receipt's own for a receipt signed alone; for one signed with a batch,
// the batch's size and the root its path leads to.
export function signedMessage(signed) {
  const own = Buffer.concat([Buffer.from("gatehouse.receipt.v1\0"), signed.receipt]);
  const size = Number(signed.batch_size || 0);
  const index = Number(signed.batch_index || 0);
  const path = signed.batch_path || [];
  if (size === 0) {
    if (index !== 0 || path.length !== 0) {
      throw new Error("a receipt signed alone carries a batch path");
    }
    return own;
  }
  const leaf = crypto.createHash("sha256").update(Buffer.concat([Buffer.from([0]), own])).digest();
  const be = Buffer.alloc(8);
  be.writeBigUInt64BE(BigInt(size));
  return Buffer.concat([Buffer.from("gatehouse.receipt-batch.v1\0"), be,
    batchRoot(index, size, leaf, path.map((p) => Buffer.from(p)))]);
}

// Checks a Receipt's signed_delivery against the receiving organisation's
// verification keys, and that it is the receipt for `recordId` from
// `receiverOrg`; returns the decoded DeliveryReceipt, throws if any check
// fails. Signed: signedMessage above (docs/clients.md, "Checking a
// receipt"). Node's crypto has no BLAKE2b-128 to compute key ids, so each
// of the organisation's keys (a handful) is tried instead of picking one by
// signed.key_id: the same guarantee, that one of the receiver's keys signed.
export function checkReceipt(signed, verificationKeys, recordId, receiverOrg) {
  const message = signedMessage(signed);
  // An Ed25519 SubjectPublicKeyInfo is this prefix, then the 32-byte key.
  const spki = Buffer.from("302a300506032b6570032100", "hex");
  const verifies = verificationKeys.some((k) => crypto.verify(null, message,
    { key: Buffer.concat([spki, Buffer.from(k)]), format: "der", type: "spki" },
    signed.signature));
  if (!verifies) throw new Error("the receipt's signature does not verify");
  const receipt = gatehouseType("DeliveryReceipt").decode(signed.receipt);
  if (receipt.record_id !== recordId || receipt.receiver_org !== receiverOrg) {
    throw new Error(`the receipt is for record ${receipt.record_id} from ${receipt.receiver_org}`);
  }
  return receipt;
}

// What a refusal says beyond its code and message (docs/clients.md,
// "Errors"), decoded from grpc-js's ServiceError: { reason, domain,
// metadata (e.g. rule, allowedValues), fields (field path -> description),
// retryDelaySeconds (null when no retry is due) }. Empty for a certificate
// refusal: its reason leads err.details instead.
export function errorDetails(err) {
  const out = { reason: "", domain: "", metadata: {}, fields: {}, retryDelaySeconds: null };
  const bin = err.metadata?.get("grpc-status-details-bin")?.[0];
  if (!bin) return out;
  if (rpcTypes === null) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => `${GOOGLEAPIS_DIR}/${target}`;
    root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"],
      { keepCase: true });
    rpcTypes = root.lookup("google.rpc");
  }
  for (const any of rpcTypes.Status.decode(bin).details) {
    const type = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
    if (type === "google.rpc.ErrorInfo") {
      const info = rpcTypes.ErrorInfo.decode(any.value);
      Object.assign(out, { reason: info.reason, domain: info.domain, metadata: info.metadata });
    } else if (type === "google.rpc.BadRequest") {
      for (const v of rpcTypes.BadRequest.decode(any.value).field_violations) {
        out.fields[v.field] = v.description;
      }
    } else if (type === "google.rpc.RetryInfo") {
      const d = rpcTypes.RetryInfo.decode(any.value).retry_delay;
      out.retryDelaySeconds = Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;
    }
  }
  return out;
}

// One system's connection to its organisation's gateway. Calls may overlap;
// close() when done, or the process keeps running.
export class Client {
  // files: paths of the CA (`ca`), the system's certificate (`cert`) and
  // private key (`key`). Each call gets a deadline of timeoutMs.
  constructor(address, files, { timeoutMs = 30000, exchange = loadExchange() } = {}) {
    const credentials = grpc.credentials.createSsl(
      readFileSync(files.ca), readFileSync(files.key), readFileSync(files.cert));
    this.stub = new exchange.Exchange(address, credentials);
    this.timeoutMs = timeoutMs;
  }

  close() {
    this.stub.close();
  }

  // Sends one record; resolves to its Receipt. `labels` holds
  // gatehouse.v1.Labels fields. A retry with the same idempotency key
  // resolves to the first receipt (duplicate set) and creates no second record.
  async submit(labels, payload, idempotencyKey) {
    const response = await this.call("Submit",
      { labels, payload, idempotency_key: idempotencyKey });
    return response.receipt;
  }

  // Every record waiting for this system, oldest first, a page at a time (a
  // page never exceeds grpc-js's default 4 MiB receive limit). Records stay
  // until acknowledged.
  async *fetchAll() {
    let token = "";
    do {
      const page = await this.call("Fetch", { page_token: token });
      yield* page.records;
      token = page.next_page_token;
    } while (token);
  }

  // Acknowledges fetched records; resolves to how many left the mailbox.
  async ack(recordIds) {
    return (await this.call("Ack", { record_ids: recordIds })).acked;
  }

  // The caller's identity and queue depths, and the receipt of recordId (one
  // this system submitted) if given.
  status(recordId = "") {
    return this.call("Status", { record_id: recordId });
  }

  // Follows this system's records (docs/clients.md, "Watching instead of
  // polling"): a grpc-js readable stream (also async-iterable) of
  // WatchEvents, `event` naming the case: "arrived", "changed" or
  // "caught_up". Resume with the cursor of the last event handled.
  // No deadline; cancel() it to stop (the stream then emits a CANCELLED
  // error: listen for "error").
  watch(cursor = "") {
    return this.stub.Watch({ cursor });
  }

  call(method, request) {
    const deadline = Date.now() + this.timeoutMs;
    return new Promise((resolve, reject) => {
      this.stub[method](request, { deadline }, (err, response) =>
        (err ? reject(err) : resolve(response)));
    });
  }
}
