"""The browser test's Approve steps (workbench_browser_test.py): two officers'
keys made with `policyc keygen`; the draft compiled in the page and
downloaded; each officer signing the download with `policyc sign`, as on
their own machine; both signed copies uploaded; the same officer's second
upload refused as counted once; the signed bundle downloaded and checked as
a gateway checks it (`policyc verify --trust ... --min 2`).
"""
import os
import subprocess
import time

DOWNLOAD_TIMEOUT = 20  # seconds


def fail(why):
    raise SystemExit("FAIL: " + why)


def run(args):
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(args), done.returncode, done.stdout, done.stderr))
    return done.stdout


def make_officers(policyc, work):
    """{name: (secret key path, public key path)} for alice and bob."""
    keys = os.path.join(work, "keys")
    os.makedirs(keys)
    officers = {}
    for name in ("alice", "bob"):
        base = os.path.join(keys, name)
        subprocess.run([policyc, "keygen", base], check=True, capture_output=True)
        officers[name] = (base + ".key", base + ".pub")
    return officers


def download(s, downloads, work, name, start=None):
    """Clicks the page's download link (or calls start()); moves what it
    saved to work/name and returns that path."""
    # Each download lands in an empty directory, whatever name Chrome picks.
    for old in os.listdir(downloads):
        os.remove(os.path.join(downloads, old))
    if start is None:
        s.driver.find_element("id", "approve-download").click()
    else:
        start()
    deadline = time.time() + DOWNLOAD_TIMEOUT
    while time.time() < deadline:
        saved = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
        if saved:
            path = os.path.join(work, name)
            os.rename(os.path.join(downloads, saved[0]), path)
            return path
        time.sleep(0.1)
    fail(name + " was not downloaded to " + downloads)


def only_the_expected_refusal(driver, path="/api/approve/add", status="409"):
    """Reads (and so empties) the browser's log so far: its only error must be
    the refusal of `path` with `status` the step expected (by default the 409
    of the upload refused below; Chrome logs every failed fetch)."""
    for entry in driver.get_log("browser"):
        expected = path in entry["message"] and status in entry["message"]
        if entry["level"] == "SEVERE" and not expected:
            fail("the page logged an error: %s" % entry["message"])


def sign_and_upload(s, policyc, bundle, officer, key, work, expect):
    signed = os.path.join(work, officer + "-signed.bundle")
    run([policyc, "sign", bundle, "--key", key, "--name", officer.capitalize(), "-o", signed])
    s.driver.find_element("id", "approve-upload").send_keys(signed)
    return s.wait_for(*expect)


def approve(s, policyc, work, downloads, officers):
    s.driver.find_element("id", "approve-version").send_keys("e2e-1")
    s.driver.find_element("id", "approve-compile").click()
    s.wait_for("approve-status", "0 of 2", "not ready")
    text = s.text("approve-result")
    if "BLAKE2b-256" not in text or "alice" not in text or "bob" not in text:
        fail("Approve does not show the digest and both officers:\n" + text)
    s.driver.execute_script("document.getElementById('approve-panel').scrollIntoView();")
    s.shot("approve-compiled")
    unsigned = download(s, downloads, work, "unsigned.bundle")
    (alice_key, alice_pub), (bob_key, bob_pub) = officers["alice"], officers["bob"]
    sign_and_upload(s, policyc, unsigned, "alice", alice_key, work,
                    ("approve-status", "1 of 2", "not ready"))
    # Alice's signed copy again: counted once, and the bundle left as it was.
    s.driver.find_element("id", "approve-upload").send_keys(
        os.path.join(work, "alice-signed.bundle"))
    s.wait_for("approve-upload-result", "alice had already signed; counted once")
    s.wait_for("approve-status", "1 of 2")
    only_the_expected_refusal(s.driver)
    s.shot("approve-one-signed", "approve-panel")
    sign_and_upload(s, policyc, unsigned, "bob", bob_key, work,
                    ("approve-status", "2 of 2", "READY"))
    s.wait_for("approve-officers", "signed as 'Alice'", "signed as 'Bob'")
    s.driver.execute_script("document.getElementById('approve-panel').scrollIntoView();")
    s.shot("approve-ready", "approve-panel")
    approved = download(s, downloads, work, "approved.bundle")
    out = run([policyc, "verify", approved, "--trust", alice_pub, "--trust", bob_pub,
               "--min", "2"])
    if "bundle OK" not in out or "version 'e2e-1'" not in out:
        fail("policyc verify did not accept the signed bundle:\n" + out)
