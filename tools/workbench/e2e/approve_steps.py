"""The browser test's Approve steps (workbench_browser_test.py): two officers'
keys made with `policyc keygen`, bob's sealed under a passphrase
(--passphrase-file) and given to the workbench; the draft compiled in the
page and downloaded; alice signing the download with `policyc sign`, as on
her own machine, and uploading it; her second upload refused as counted
once; bob signing on the page with his passphrase, after a wrong one that
signs nothing; the signed bundle downloaded and checked with `policyc
verify --trust ... --min 2`, then loaded by the gateway's own PolicyHolder
(gateway_load_check) with a floor of 2; with one signature it is refused.
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


BOB_PASSPHRASE = "bob signs on the page"


def make_officers(policyc, work):
    """{name: (secret key path, public key path)} for alice (NAME.key) and
    bob (NAME.sealed, under BOB_PASSPHRASE)."""
    keys = os.path.join(work, "keys")
    os.makedirs(keys)
    officers = {}
    base = os.path.join(keys, "alice")
    run([policyc, "keygen", base])
    officers["alice"] = (base + ".key", base + ".pub")
    base = os.path.join(keys, "bob")
    with open(base + ".pass", "w") as f:
        f.write(BOB_PASSPHRASE + "\n")
    run([policyc, "keygen", base, "--passphrase-file", base + ".pass"])
    os.remove(base + ".pass")
    officers["bob"] = (base + ".sealed", base + ".pub")
    return officers


def download(s, downloads, work, name, start=None):
    """Clicks the page's download link (or calls start()); moves what it
    saved to work/name and returns that path. A file counts once Chrome has
    given it the page's name (one with name's extension: Chrome first writes
    under a temporary name) and its size has held for two looks."""
    # Each download lands in an empty directory, whatever name Chrome picks.
    for old in os.listdir(downloads):
        os.remove(os.path.join(downloads, old))
    if start is None:
        s.driver.find_element("id", "approve-download").click()
    else:
        start()
    extension = os.path.splitext(name)[1]
    deadline = time.time() + DOWNLOAD_TIMEOUT
    last = None
    while time.time() < deadline:
        saved = [f for f in os.listdir(downloads) if f.endswith(extension)]
        if saved:
            path = os.path.join(downloads, saved[0])
            size = os.path.getsize(path)
            if size > 0 and last == (saved[0], size):
                moved = os.path.join(work, name)
                os.rename(path, moved)
                return moved
            last = (saved[0], size)
        time.sleep(0.2)
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


def approve(s, policyc, load_check, work, downloads, officers):
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
    # Bob signs on the page: a wrong passphrase first, which signs nothing.
    s.wait_for("approve-here", "Sign here")
    s.driver.find_element("id", "approve-here-passphrase").send_keys("not bob's passphrase")
    s.driver.find_element("id", "approve-here-run").click()
    s.wait_for("approve-here-result", "the passphrase is not the one")
    s.wait_for("approve-status", "1 of 2", "not ready")
    if s.driver.find_element("id", "approve-here-passphrase").get_attribute("value"):
        fail("the passphrase field was not emptied after signing")
    only_the_expected_refusal(s.driver, "/api/approve/sign", "403")
    s.driver.find_element("id", "approve-here-passphrase").send_keys(BOB_PASSPHRASE)
    s.driver.find_element("id", "approve-here-run").click()
    s.wait_for("approve-here-result", "signed here for bob")
    s.wait_for("approve-status", "2 of 2", "READY")
    s.wait_for("approve-officers", "signed as 'Alice'", "signed as 'bob'")
    s.driver.execute_script("document.getElementById('approve-panel').scrollIntoView();")
    s.shot("approve-ready", "approve-panel")
    approved = download(s, downloads, work, "approved.bundle")
    out = run([policyc, "verify", approved, "--trust", alice_pub, "--trust", bob_pub,
               "--min", "2"])
    if "bundle OK" not in out or "version 'e2e-1'" not in out:
        fail("policyc verify did not accept the signed bundle:\n" + out)
    out = run([load_check, approved, "2", alice_pub, bob_pub])
    if "gateway loaded policy 'northshire-sharing' version 'e2e-1'" not in out:
        fail("the gateway's loader did not load the signed bundle:\n" + out)
    # Alice's copy alone (one signature) is refused by the same loader.
    done = subprocess.run([load_check, os.path.join(work, "alice-signed.bundle"), "2",
                           alice_pub, bob_pub], capture_output=True, text=True)
    if done.returncode != 1 or "gateway refused" not in done.stdout:
        fail("the gateway's loader took a bundle with one of two signatures: %r" % done.stdout)
