"""Runs the example client against two running gateways, as ctest does
(tests/gateway/clients_integration_test.cc starts them):

    python3 examples/python/test_client.py --pki DIR \
        --sender localhost:PORT --recipient 127.0.0.1:PORT --directory FILE

DIR is a development PKI (certs/gen-dev-pki.sh). The sender is
nhs-trust-a's gateway (system ehr), the recipient council-a's (system
care). Exits 0 if every check passed.
"""

import argparse
import os
import sys
import tempfile
import time
import unittest

import grpc

sys.dont_write_bytecode = True  # nothing generated lands in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gatehouse_client  # noqa: E402

ARGS = None


def labels(**changes):
    base = dict(recipient_org="council-a", recipient_system="care",
                record_type="discharge_summary", classification="OFFICIAL-SENSITIVE",
                caveats=["PERSONAL", "CHILD"], purpose="direct_care",
                end_user="dr.patel", content_type="application/fhir+json")
    base.update(changes)
    return base


def council_entry():
    """council-a as the signed directory the gateways use lists it (the
    directory's own signature is the gateways' to check)."""
    from gatehouse.v1 import directory_pb2, envelope_pb2
    with open(ARGS.directory, "rb") as f:
        signed_directory = envelope_pb2.SignedDirectory.FromString(f.read())
    directory = directory_pb2.Directory.FromString(signed_directory.directory)
    return [o for o in directory.organisations if o.org_id == "council-a"][0]


def client(address, system):
    pki = ARGS.pki
    return gatehouse_client.Client(address, os.path.join(pki, "ca.crt"),
                                   os.path.join(pki, system + ".crt"),
                                   os.path.join(pki, system + ".key"))


class StockPythonClientTest(unittest.TestCase):

    def test_submit_fetch_ack_status(self):
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            me = ehr.status()
            self.assertEqual((me.org_id, me.system_id), ("nhs-trust-a", "ehr"))
            receipt = ehr.submit(labels(), b'{"note":"home by Friday"}', "py-1")
            self.assertEqual(receipt.state, 2, receipt)  # RECORD_STATE_DELIVERED
            again = ehr.submit(labels(), b'{"note":"home by Friday"}', "py-1")
            self.assertTrue(again.duplicate)
            self.assertEqual(again.record_id, receipt.record_id)
            self.assertEqual(ehr.status(receipt.record_id).receipt.record_id,
                             receipt.record_id)
        with client(ARGS.recipient, "council-a/care") as care:
            records = list(care.fetch_all())
            self.assertEqual([r.record_id for r in records], [receipt.record_id])
            self.assertEqual(records[0].payload, b'{"note":"home by Friday"}')
            self.assertEqual(list(records[0].labels.caveats), ["PERSONAL", "CHILD"])
            self.assertEqual(care.ack([receipt.record_id]), 1)
            self.assertEqual(list(care.fetch_all()), [])
            self.assertEqual(care.status().mailbox_depth, 0)
        # The sender learns, from its own gateway, that the council took it.
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            deadline = time.monotonic() + 20
            taken = ehr.status(receipt.record_id).receipt
            while taken.state != 4 and time.monotonic() < deadline:  # ACKNOWLEDGED
                time.sleep(0.1)
                taken = ehr.status(receipt.record_id).receipt
            self.assertEqual(taken.state, 4, taken)
            self.assertGreater(taken.fetched_unix_ms, 0)
            self.assertGreaterEqual(taken.acknowledged_unix_ms, taken.fetched_unix_ms)

    def test_delivery_receipt_verifies_against_the_directory(self):
        council = council_entry()
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            receipt = ehr.submit(labels(), b'{"note":"receipt"}', "py-receipt")
        self.assertEqual(receipt.state, 2, receipt)
        checked = gatehouse_client.check_receipt(receipt.signed_delivery,
                                                 council.verification_keys,
                                                 receipt.record_id, "council-a")
        self.assertEqual(checked.audit_index, receipt.delivery.audit_index)
        forged = type(receipt.signed_delivery)()
        forged.CopyFrom(receipt.signed_delivery)
        forged.receipt = forged.receipt[:-1] + bytes([forged.receipt[-1] ^ 1])
        with self.assertRaises(ValueError):
            gatehouse_client.check_receipt(forged, council.verification_keys,
                                           receipt.record_id, "council-a")
        with self.assertRaises(ValueError):  # a genuine receipt, but for another record
            gatehouse_client.check_receipt(receipt.signed_delivery, council.verification_keys,
                                           "0" * 32, "council-a")
        with client(ARGS.recipient, "council-a/care") as care:  # leave the mailbox empty
            care.ack([r.record_id for r in care.fetch_all()])

    def test_receipts_signed_with_their_batch_verify_alone(self):
        # Records submitted at once reach the council in batches, whose
        # receipts share one signature: each is checked alone by its path.
        from concurrent.futures import ThreadPoolExecutor
        council = council_entry()
        batched = []
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            for attempt in range(3):
                def submit(i, attempt=attempt):
                    return ehr.submit(labels(), b'{"n":%d}' % i, "py-batch-%d-%d" % (attempt, i))
                with ThreadPoolExecutor(max_workers=48) as pool:
                    receipts = list(pool.map(submit, range(48)))
                for r in receipts:
                    if r.state != 2:  # not delivered within the call: no receipt yet
                        continue
                    checked = gatehouse_client.check_receipt(r.signed_delivery,
                                                             council.verification_keys,
                                                             r.record_id, "council-a")
                    self.assertEqual(checked.audit_index, r.delivery.audit_index)
                    if r.signed_delivery.batch_size > 1:
                        batched.append(r)
                if batched:
                    break
        self.assertTrue(batched, "no receipt was signed with a batch")
        r = batched[0]
        for change in ("path", "index", "size"):
            forged = type(r.signed_delivery)()
            forged.CopyFrom(r.signed_delivery)
            if change == "path":
                forged.batch_path[0] = bytes([forged.batch_path[0][0] ^ 1]) + forged.batch_path[0][1:]
            elif change == "index":
                forged.batch_index = (forged.batch_index + 1) % forged.batch_size
            else:
                forged.batch_size += 1
            with self.assertRaises(ValueError, msg=change):
                gatehouse_client.check_receipt(forged, council.verification_keys,
                                               r.record_id, "council-a")
        with client(ARGS.recipient, "council-a/care") as care:  # leave the mailbox empty
            care.ack([r.record_id for r in care.fetch_all()])

    def test_unknown_label_is_invalid_argument_and_sends_nothing(self):
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            before = ehr.status().outbox_depth
            for bad, field in ((labels(classification="CONFIDENTIAL"), "labels.classification"),
                               (labels(caveats=["BANANA"]), "labels.caveats")):
                with self.assertRaises(grpc.RpcError) as caught:
                    ehr.submit(bad, b"{}", "py-bad-" + field)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn(field, caught.exception.details())
                details = gatehouse_client.error_details(caught.exception)
                self.assertEqual(details.reason, "LABEL_NOT_DECLARED")
                self.assertEqual(details.domain, "gatehouse")
                self.assertIn(field, details.fields)
                self.assertIn("allowedValues", details.metadata)
                self.assertIsNone(details.retry_delay)
            self.assertEqual(ehr.status().outbox_depth, before)

    def test_policy_denial_names_the_deciding_rule(self):
        with client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            before = ehr.status().outbox_depth
            with self.assertRaises(grpc.RpcError) as caught:
                ehr.submit(labels(caveats=["MEDICAL"]), b"{}", "py-medical")
            self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
            details = gatehouse_client.error_details(caught.exception)
            self.assertEqual(details.reason, "POLICY_FORBIDDEN")
            self.assertEqual(details.metadata.get("rule"), "medical-stays-in-health")
            self.assertEqual(ehr.status().outbox_depth, before)

    def test_certificate_without_a_psn_identity_gets_nothing(self):
        # A certificate without a psn:// identity connects (the CA issued
        # it) but is served nothing.
        with client(ARGS.sender, "bad/dnsonly") as intruder:
            with self.assertRaises(grpc.RpcError) as caught:
                intruder.status()
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            self.assertTrue(caught.exception.details().startswith("IDENTITY_NOT_ACCEPTED: "),
                            caught.exception.details())

    def test_watch_announces_arrivals_and_resumes_from_a_cursor(self):
        with client(ARGS.recipient, "council-a/care") as care, \
                client(ARGS.sender, "nhs-trust-a/ehr") as ehr:
            care.ack([r.record_id for r in care.fetch_all()])
            stream = care.watch()
            self.assertEqual(next(stream).WhichOneof("event"), "caught_up")
            first = ehr.submit(labels(), b'{"n": 1}', "py-watch-1")
            arrived = next(stream)
            self.assertEqual(arrived.WhichOneof("event"), "arrived")
            self.assertEqual(arrived.arrived.record_id, first.record_id)
            stream.cancel()
            # While nobody watches, another arrives; the cursor resumes
            # after the first, so the second comes once and the first not
            # again.
            second = ehr.submit(labels(), b'{"n": 2}', "py-watch-2")
            resumed = care.watch(arrived.cursor)
            self.assertEqual(next(resumed).arrived.record_id, second.record_id)
            self.assertEqual(next(resumed).WhichOneof("event"), "caught_up")
            resumed.cancel()
            care.ack([r.record_id for r in care.fetch_all()])

    def test_certificate_from_another_authority_is_told_why(self):
        # Before, the handshake failed: UNAVAILABLE "Socket closed", like a
        # gateway that is down. Now the caller learns the reason.
        with client(ARGS.sender, "bad/untrusted") as stranger:
            with self.assertRaises(grpc.RpcError) as caught:
                stranger.status()
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            self.assertIn("CERTIFICATE_UNTRUSTED", caught.exception.details())
            self.assertIn("not issued by a trusted authority", caught.exception.details())


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--pki", required=True)
    parser.add_argument("--sender", required=True)
    parser.add_argument("--recipient", required=True)
    parser.add_argument("--directory", required=True,
                        help="the signed directory the gateways use (for receipts' keys)")
    ARGS, rest = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="gatehouse-stubs-") as stubs:
        gatehouse_client.generate_stubs(stubs)
        result = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
