// Runs the example client against two running gateways, as ctest does
// (tests/gateway/clients_integration_test.cc starts them):
//
//   node examples/node/test_client.mjs --pki DIR \
//       --sender localhost:PORT --recipient 127.0.0.1:PORT --directory FILE
//
// DIR is a development PKI (certs/gen-dev-pki.sh). The sender is
// nhs-trust-a's gateway (system ehr), the recipient council-a's (system
// care). Prints each check and "N of M checks passed"; exits 0 only if
// every check passed. Needs examples/node/node_modules (scripts/setup.sh).
import assert from "node:assert/strict";
import path from "node:path";
import { parseArgs } from "node:util";

import {
  checkReceipt, Client, errorDetails, grpc, verificationKeysOf,
} from "./gatehouse_client.mjs";

const { values: args } = parseArgs({
  options: {
    pki: { type: "string" },
    sender: { type: "string" },
    recipient: { type: "string" },
    directory: { type: "string" },
  },
});
for (const name of ["pki", "sender", "recipient", "directory"]) {
  if (!args[name]) {
    console.error("usage: node test_client.mjs --pki DIR --sender HOST:PORT " +
      "--recipient HOST:PORT --directory FILE");
    process.exit(2);
  }
}

function labels(changes = {}) {
  return {
    recipient_org: "council-a", recipient_system: "care",
    record_type: "discharge_summary", classification: "OFFICIAL-SENSITIVE",
    caveats: ["PERSONAL", "CHILD"], purpose: "direct_care",
    end_user: "dr.patel", content_type: "application/fhir+json",
    ...changes,
  };
}

// Runs body with a client of `system` (e.g. "nhs-trust-a/ehr") connected to
// address, and closes it however body ends.
async function withClient(address, system, body) {
  const client = new Client(address, {
    ca: path.join(args.pki, "ca.crt"),
    cert: path.join(args.pki, system + ".crt"),
    key: path.join(args.pki, system + ".key"),
  });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

async function collect(iterable) {
  const items = [];
  for await (const item of iterable) items.push(item);
  return items;
}

// A check that `promise` rejects with `code` and, if given, a message
// containing `text`.
function rejectsWith(promise, code, text) {
  return assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `${err.code} ${err.details}`);
    if (text) assert.ok(err.details.includes(text), err.details);
    return true;
  });
}

const checks = {
  async "submit, resubmit, status, fetch, ack"() {
    const payload = Buffer.from('{"note":"home by Friday"}');
    const receipt = await withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
      const me = await ehr.status();
      assert.deepEqual([me.org_id, me.system_id], ["nhs-trust-a", "ehr"]);
      const first = await ehr.submit(labels(), payload, "node-1");
      assert.equal(first.state, "RECORD_STATE_DELIVERED", JSON.stringify(first));
      const again = await ehr.submit(labels(), payload, "node-1");
      assert.equal(again.duplicate, true);
      assert.equal(again.record_id, first.record_id);
      assert.equal((await ehr.status(first.record_id)).receipt.record_id, first.record_id);
      return first;
    });
    await withClient(args.recipient, "council-a/care", async (care) => {
      const records = await collect(care.fetchAll());
      assert.deepEqual(records.map((r) => r.record_id), [receipt.record_id]);
      assert.deepEqual(records[0].payload, payload);
      assert.deepEqual(records[0].labels.caveats, ["PERSONAL", "CHILD"]);
      assert.equal(await care.ack([receipt.record_id]), 1);
      assert.deepEqual(await collect(care.fetchAll()), []);
      assert.equal((await care.status()).mailbox_depth, 0);
    });
    // The sender learns, from its own gateway, that the council took it.
    await withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
      const deadline = Date.now() + 20000;
      let taken = (await ehr.status(receipt.record_id)).receipt;
      while (taken.state !== "RECORD_STATE_ACKNOWLEDGED" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        taken = (await ehr.status(receipt.record_id)).receipt;
      }
      assert.equal(taken.state, "RECORD_STATE_ACKNOWLEDGED", JSON.stringify(taken));
      assert.ok(taken.fetched_unix_ms > 0, JSON.stringify(taken));
      assert.ok(taken.acknowledged_unix_ms >= taken.fetched_unix_ms, JSON.stringify(taken));
    });
  },

  async "a delivery receipt verifies against the recipient's directory keys"() {
    const keys = verificationKeysOf(args.directory, "council-a");
    const receipt = await withClient(args.sender, "nhs-trust-a/ehr",
      (ehr) => ehr.submit(labels(), Buffer.from('{"note":"receipt"}'), "node-receipt"));
    assert.equal(receipt.state, "RECORD_STATE_DELIVERED", JSON.stringify(receipt));
    const checked = checkReceipt(receipt.signed_delivery, keys, receipt.record_id, "council-a");
    assert.equal(Number(checked.audit_index), Number(receipt.delivery.audit_index));
    const forged = { ...receipt.signed_delivery, receipt: Buffer.from(receipt.signed_delivery.receipt) };
    forged.receipt[forged.receipt.length - 1] ^= 1;
    assert.throws(() => checkReceipt(forged, keys, receipt.record_id, "council-a"),
      /does not verify/);
    // A genuine receipt, but for another record.
    assert.throws(() => checkReceipt(receipt.signed_delivery, keys, "0".repeat(32), "council-a"),
      /is for record/);
    // Someone else's keys.
    assert.throws(() => checkReceipt(receipt.signed_delivery,
      verificationKeysOf(args.directory, "police-a"), receipt.record_id, "council-a"),
      /does not verify/);
    await withClient(args.recipient, "council-a/care", async (care) =>
      care.ack((await collect(care.fetchAll())).map((r) => r.record_id)));
  },

  async "receipts signed with their batch verify alone"() {
    // Records submitted at once reach the council in batches, whose
    // receipts share one signature: each is checked alone by its path.
    const keys = verificationKeysOf(args.directory, "council-a");
    const batched = [];
    await withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
      for (let attempt = 0; attempt < 3 && batched.length === 0; ++attempt) {
        const receipts = await Promise.all(Array.from({ length: 48 }, (_, i) =>
          ehr.submit(labels(), Buffer.from(`{"n":${i}}`), `node-batch-${attempt}-${i}`)));
        for (const r of receipts) {
          if (r.state !== "RECORD_STATE_DELIVERED") continue;  // no receipt yet
          const checked = checkReceipt(r.signed_delivery, keys, r.record_id, "council-a");
          assert.equal(Number(checked.audit_index), Number(r.delivery.audit_index));
          if (Number(r.signed_delivery.batch_size || 0) > 1) batched.push(r);
        }
      }
    });
    assert.ok(batched.length > 0, "no receipt was signed with a batch");
    const r = batched[0];
    const forgedPath = { ...r.signed_delivery,
      batch_path: r.signed_delivery.batch_path.map((p) => Buffer.from(p)) };
    forgedPath.batch_path[0][0] ^= 1;
    assert.throws(() => checkReceipt(forgedPath, keys, r.record_id, "council-a"),
      /does not verify/);
    const forgedIndex = { ...r.signed_delivery,
      batch_index: (Number(r.signed_delivery.batch_index || 0) + 1) %
        Number(r.signed_delivery.batch_size) };
    assert.throws(() => checkReceipt(forgedIndex, keys, r.record_id, "council-a"));
    await withClient(args.recipient, "council-a/care", async (care) =>
      care.ack((await collect(care.fetchAll())).map((r) => r.record_id)));
  },

  async "an unknown label value is INVALID_ARGUMENT naming the field and sends nothing"() {
    await withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
      const before = (await ehr.status()).outbox_depth;
      for (const [bad, field] of [
        [labels({ classification: "CONFIDENTIAL" }), "labels.classification"],
        [labels({ caveats: ["BANANA"] }), "labels.caveats"],
      ]) {
        await rejectsWith(ehr.submit(bad, Buffer.from("{}"), "node-bad-" + field),
          grpc.status.INVALID_ARGUMENT, field);
      }
      assert.equal((await ehr.status()).outbox_depth, before);
    });
  },

  async "refusals carry details: reason, field, declared values, deciding rule"() {
    await withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
      const refusal = (labelsGiven, key) =>
        ehr.submit(labelsGiven, Buffer.from("{}"), key).then(() => null, (err) => err);
      const bad = await refusal(labels({ caveats: ["BANANA"] }), "node-details-1");
      assert.ok(bad, "an undeclared caveat was accepted");
      const d = errorDetails(bad);
      assert.equal(d.reason, "LABEL_NOT_DECLARED");
      assert.equal(d.domain, "gatehouse");
      assert.ok("labels.caveats" in d.fields, JSON.stringify(d));
      assert.ok(d.metadata.allowedValues.includes("PERSONAL"), JSON.stringify(d));
      assert.equal(d.retryDelaySeconds, null);
      const denied = await refusal(labels({ caveats: ["MEDICAL"] }), "node-details-2");
      assert.equal(denied?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(errorDetails(denied).reason, "POLICY_FORBIDDEN");
      assert.equal(errorDetails(denied).metadata.rule, "medical-stays-in-health");
    });
  },

  async "watch announces an arrival and resumes from its cursor"() {
    await withClient(args.recipient, "council-a/care", (care) =>
      withClient(args.sender, "nhs-trust-a/ehr", async (ehr) => {
        await care.ack((await collect(care.fetchAll())).map((r) => r.record_id));
        const stream = care.watch();
        stream.on("error", () => {}); // CANCELLED, below
        const events = stream[Symbol.asyncIterator]();
        assert.equal((await events.next()).value.event, "caught_up");
        const first = await ehr.submit(labels(), Buffer.from("{}"), "node-watch-1");
        const arrived = (await events.next()).value;
        assert.equal(arrived.event, "arrived");
        assert.equal(arrived.arrived.record_id, first.record_id);
        stream.cancel();
        const second = await ehr.submit(labels(), Buffer.from("{}"), "node-watch-2");
        const resumed = care.watch(arrived.cursor);
        resumed.on("error", () => {});
        const rest = resumed[Symbol.asyncIterator]();
        assert.equal((await rest.next()).value.arrived.record_id, second.record_id);
        assert.equal((await rest.next()).value.event, "caught_up");
        resumed.cancel();
        await care.ack((await collect(care.fetchAll())).map((r) => r.record_id));
      }));
  },

  // A certificate without a psn:// identity connects (the CA issued it)
  // but is served nothing.
  async "a certificate without a psn identity is UNAUTHENTICATED"() {
    await withClient(args.sender, "bad/dnsonly", (intruder) =>
      rejectsWith(intruder.status(), grpc.status.UNAUTHENTICATED));
  },
};

let passed = 0;
const names = Object.keys(checks);
for (const [i, name] of names.entries()) {
  try {
    await checks[name]();
    passed++;
    console.log(`ok ${i + 1} - ${name}`);
  } catch (err) {
    console.log(`not ok ${i + 1} - ${name}\n  ${String(err.stack ?? err).replaceAll("\n", "\n  ")}`);
  }
}
console.log(`${passed} of ${names.length} checks passed`);
process.exitCode = passed === names.length ? 0 : 1;
