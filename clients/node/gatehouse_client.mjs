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

export { grpc };

export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

// The gatehouse.v1 package (its service constructors), loaded from protoDir.
export function loadExchange(protoDir = PROTO_DIR) {
  const definition = protoLoader.loadSync("gatehouse/v1/exchange.proto", {
    includeDirs: [protoDir],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition).gatehouse.v1;
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

  call(method, request) {
    const deadline = Date.now() + this.timeoutMs;
    return new Promise((resolve, reject) => {
      this.stub[method](request, { deadline }, (err, response) =>
        (err ? reject(err) : resolve(response)));
    });
  }
}
