"""The browser test's Observe steps (workbench_browser_test.py): an audit
export written as `auditctl export` writes it (JSON lines, protobuf field
names), uploaded in the page; the chart drawn with a bar for each outcome,
the most-denied flow first with its reason, the shadow difference, and the
draft (which by then permits police crime reports to councils) naming the
one decision it would change.
"""
import json
import os

T0 = 1800000000 * 10**9  # 2027-01-15T08:00:00Z
MEDICAL = "denied: forbidden by rule medical-stays-in-health"


def fail(why):
    raise SystemExit("FAIL: " + why)


def entry(event, seconds, sender, recipient, record_type, caveats, decision, rule, reason):
    e = {"event": "AUDIT_EVENT_" + event, "time_unix_ns": str(T0 + seconds * 10**9),
         "sender_org": sender, "recipient_org": recipient,
         "labels": {"record_type": record_type, "classification": "OFFICIAL-SENSITIVE",
                    "purpose": "safeguarding" if record_type == "crime_report" else "direct_care",
                    "caveats": caveats},
         "decision": "AUDIT_DECISION_" + decision, "reason": reason}
    if rule:
        e["rule_ids"] = [rule]
    return e


def write_export(path):
    care = ("nhs-trust-a", "council-a", "discharge_summary")
    entries = [
        entry("SUBMITTED", 0, *care, ["PERSONAL"], "PERMIT", "health-council-care", ""),
        entry("SUBMITTED", 50, *care, ["PERSONAL"], "PERMIT", "health-council-care", ""),
        entry("DENIED", 70, *care, ["MEDICAL"], "DENY", "medical-stays-in-health", MEDICAL),
        entry("DENIED", 130, *care, ["MEDICAL"], "DENY", "medical-stays-in-health", MEDICAL),
        entry("DENIED", 150, "police-a", "council-a", "crime_report", [], "DENY", "",
              "denied: no sharing agreement (permit rule) covers this flow"),
        entry("SHADOW_DIFFERS", 160, *care, ["PERSONAL"], "DENY", "",
              "live policy v1: permitted by health-council-care; shadow policy v2: no-permit"),
    ]
    with open(path, "w") as f:
        for i, e in enumerate(entries):
            f.write(json.dumps({"leaf_index": str(i), "leaf_hash": "AQID", "entry": e}) + "\n")


def observe(s, work):
    path = os.path.join(work, "audit-export.jsonl")
    write_export(path)
    s.driver.find_element("id", "observe-upload").send_keys(path)
    s.wait_for("observe-summary", "6 entries", "2 permitted", "3 denied", "1 shadow difference")
    bars = s.driver.find_elements("css selector", "#observe-chart rect")
    kinds = {b.get_attribute("class") for b in bars}
    if kinds != {"bar-permit", "bar-deny"}:
        fail("the chart does not draw both outcomes: %r" % kinds)
    first = s.driver.find_element("css selector", "#observe-denied tr:nth-child(2)").text
    if not first.startswith("2 ") or "MEDICAL" not in first or MEDICAL not in first:
        fail("the most-denied flow is not first with its reason: " + first)
    s.wait_for("observe-shadow", "shadow policy v2: no-permit")
    s.wait_for("observe-result", "1 decision(s) would change", "police-council-crime",
               "was denied, the draft permits")
    s.select("observe-rule", "medical-stays-in-health")
    bars = s.driver.find_elements("css selector", "#observe-chart rect")
    if {b.get_attribute("class") for b in bars} != {"bar-deny"}:
        fail("choosing a rule that only denies still draws permits")
    s.select("observe-rule", "")
    s.driver.execute_script("document.getElementById('observe-panel').scrollIntoView();")
    s.shot("observe", "observe-panel")
