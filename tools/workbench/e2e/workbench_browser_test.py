#!/usr/bin/env python3
"""The workbench end to end in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium): start the real binary on a free
loopback port, type a policy mistake and see the compiler's diagnostic, apply
its fix, ask a what-if, compare two versions and see the newly permitted
flow, in words and on the picture (the changed cell outlined), run the officer's cases, see the flows as a grid and click a cell to
ask about it, see them by sector (a mixed sector cell, clicked, lists its
flows), save with Ctrl-S (formatted as policyc fmt does; a draft that does
not parse is kept as typed), and approve: compile the draft, download it,
have alice sign it with policyc (as on her own machine) and upload it, see
her second upload counted once, have bob sign on the page with his sealed
key's passphrase (a wrong one first signs nothing), download the
signed bundle and check it with policyc verify and the gateway's own loader
(gateway_load_check), and observe:
upload an audit export and see the chart, the most-denied flows, the shadow
difference and what the draft would change. A screenshot of each step goes
to SHOTS_DIR.

Usage: workbench_browser_test.py WORKBENCH_BINARY POLICYC GATEWAY_LOAD_CHECK SOURCE_DIR SHOTS_DIR

Fails (exit 1), never skips, if Chromium, its driver or Selenium is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import approve_steps  # noqa: E402
import edit_steps  # noqa: E402
import observe_steps  # noqa: E402
import see_steps  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
STEP_TIMEOUT = 20  # seconds for each step to show its answer

NEW_PERMIT = """
permit police-council-crime
  "The force tells the council of crimes it must act on."
  when sender sector is police
    and recipient sector is council
    and record type is crime_report
    and purpose is safeguarding
    and classification at most OFFICIAL-SENSITIVE
  then encrypt
"""

CASES = (
    'allow sender=nhs-trust-a recipient=council-a type=care_plan classification=OFFICIAL '
    'purpose=direct_care by=health-council-care name="care plan to council"\n'
    'allow sender=council-a recipient=nhs-trust-a type=referral classification=OFFICIAL '
    'purpose=direct_care name="referral back (no rule allows it)"\n')


def fail(why):
    print("FAIL: " + why, file=sys.stderr)
    sys.exit(1)


def need_tools():
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            fail("%s is missing: apt-get install %s (scripts/setup.sh)" % (path, package))
    try:
        import selenium  # noqa: F401
    except ImportError:
        fail("python3-selenium is missing: apt-get install python3-selenium")


def start_workbench(binary, policy, cases, officers):
    """`officers`: {name: (secret key path, public key path)}; a .sealed
    secret key is given to the workbench, to sign with on the page."""
    args = [binary, "--listen", "127.0.0.1:0", "--policy", policy, "--cases", cases,
            "--required-signatures", "2"]
    for secret, pub in officers.values():
        args += ["--officer", pub]
        if secret.endswith(".sealed"):
            args += ["--officer-sealed-key", secret]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "gatehouse-workbench: serving http://127.0.0.1:PORT/ ..."
    if "serving http://" not in line:
        proc.kill()
        fail("the workbench did not start: %r" % line)
    url = line.split("serving ", 1)[1].split()[0]
    return proc, url


def browser(profile, downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--user-data-dir=" + profile):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Approve downloads twice from the page: allow a second download unasked.
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads, "download.prompt_for_download": False,
        "profile.default_content_setting_values.automatic_downloads": 1})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": downloads})
    return driver


class Steps:
    def __init__(self, driver, shots):
        self.driver, self.shots, self.n = driver, shots, 0

    def text(self, element_id):
        from selenium.common.exceptions import NoSuchElementException, \
            StaleElementReferenceException
        # A panel redrawn between finding an element and reading it: read again.
        for _ in range(50):
            try:
                return self.driver.find_element("id", element_id).text
            except (StaleElementReferenceException, NoSuchElementException):
                time.sleep(0.1)
        return self.driver.find_element("id", element_id).text

    def select(self, element_id, value):
        """Chooses `value` in the <select> `element_id`. Its options are
        drawn again when an answer arrives, so an option found a moment ago
        may be gone: it is looked up afresh until the choice lands."""
        from selenium.common.exceptions import NoSuchElementException, \
            StaleElementReferenceException
        from selenium.webdriver.support.ui import Select
        for _ in range(50):
            try:
                Select(self.driver.find_element("id", element_id)).select_by_value(value)
                return
            except (StaleElementReferenceException, NoSuchElementException):
                time.sleep(0.1)
        Select(self.driver.find_element("id", element_id)).select_by_value(value)

    def wait_for(self, element_id, *words):
        deadline = time.time() + STEP_TIMEOUT
        while time.time() < deadline:
            text = self.text(element_id)
            if all(w in text for w in words):
                return text
            time.sleep(0.1)
        self.shot("failed")
        fail("#%s never showed %r; it shows:\n%s" % (element_id, words, self.text(element_id)))

    def shot(self, name, element_id=None):
        """The window, or only the element `element_id`, as SHOTS_DIR/NN-name.png."""
        self.n += 1
        path = os.path.join(self.shots, "%02d-%s.png" % (self.n, name))
        if element_id:
            self.driver.find_element("id", element_id).screenshot(path)
        else:
            self.driver.save_screenshot(path)

    def cm(self, script, *args):
        return self.driver.execute_script(
            "var cm = document.querySelector('.CodeMirror').CodeMirror;" + script, *args)


def type_a_mistake_and_fix_it(s):
    from selenium.webdriver.common.keys import Keys
    s.wait_for("check-summary", "0 error(s)", "7 rule(s)")
    s.shot("opened")
    # Put the cursor after "council" on the line "  when sender sector is council", then type.
    line = s.cm("return cm.getValue().split('\\n').indexOf('  when sender sector is council');")
    if line < 0:
        fail("the example policy changed: no 'when sender sector is council' line")
    s.cm("cm.focus(); cm.setCursor(arguments[0], 31);", line)
    editor_input = s.driver.find_element("css selector", ".CodeMirror textarea")
    editor_input.send_keys(Keys.BACKSPACE * 3 + "cel")  # "council" -> "councel"
    text = s.wait_for("diagnostics", "draft.ghp:%d:25" % (line + 1), "unknown-name")
    s.wait_for("check-summary", "1 error(s)")
    s.shot("mistake")
    if "use 'council'" not in text:
        fail("the diagnostic offers no fix: " + text)
    s.driver.find_element("css selector", "#diagnostics .apply-fix").click()
    s.wait_for("check-summary", "0 error(s)")
    s.shot("fixed")


def ask_what_if(s):
    for field, value in (("sender", "nhs-trust-a"), ("recipient", "council-a"),
                         ("type", "discharge_summary"), ("classification", "OFFICIAL-SENSITIVE"),
                         ("caveats", "PERSONAL"), ("purpose", "direct_care")):
        s.driver.find_element("id", "ask-" + field).send_keys(value)
    s.driver.find_element("id", "ask-run").click()
    s.wait_for("ask-result", "ALLOWED", "health-council-care", "encrypt")
    s.shot("ask-allowed")
    s.driver.find_element("id", "ask-caveats").send_keys(", MEDICAL")
    s.driver.find_element("id", "ask-run").click()
    s.wait_for("ask-result", "DENIED", "medical-stays-in-health")
    s.shot("ask-denied")


def compare_versions(s, before):
    s.driver.execute_script("document.getElementById('against').value = arguments[0];", before)
    s.cm("cm.replaceRange(arguments[0], CodeMirror.Pos(cm.lastLine()));", NEW_PERMIT)
    s.wait_for("check-summary", "0 error(s)", "8 rule(s)")
    s.driver.find_element("id", "compare-run").click()
    s.wait_for("compare-result", "newly permitted", "police-council-crime", "crime_report")
    s.shot("compare")


def run_cases(s):
    s.driver.find_element("id", "test-run").click()
    text = s.wait_for("test-result", "2 case(s), 1 failed", "coverage:")
    lines = text.splitlines()
    if not lines[1].startswith("FAIL line 2"):
        fail("the failing case is not first:\n" + text)
    s.shot("tests")


def no_policy_violations(driver):
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            fail("the page logged an error: %s" % entry["message"])


def main():
    if len(sys.argv) != 6:
        fail(__doc__)
    binary, policyc, load_check, source_dir, shots = sys.argv[1:]
    need_tools()
    os.makedirs(shots, exist_ok=True)
    for old in os.listdir(shots):
        if old.endswith(".png"):
            os.remove(os.path.join(shots, old))
    work = tempfile.mkdtemp(prefix="workbench-e2e-")
    policy = os.path.join(source_dir, "policy/examples/northshire.ghp")
    cases = os.path.join(work, "northshire.cases")
    with open(cases, "w") as f:
        f.write(CASES)
    officers = approve_steps.make_officers(policyc, work)
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads)
    proc, url = start_workbench(binary, policy, cases, officers)
    driver = None
    try:
        driver = browser(os.path.join(work, "profile"), downloads)
        driver.get(url)
        s = Steps(driver, shots)
        type_a_mistake_and_fix_it(s)
        ask_what_if(s)
        with open(policy) as f:
            compare_versions(s, f.read())
        see_steps.see_comparison(s)
        run_cases(s)
        see_steps.see_flows(s)
        see_steps.see_sectors(s)
        edit_steps.save_formats(s, policyc, work, downloads)
        approve_steps.approve(s, policyc, load_check, work, downloads, officers)
        observe_steps.observe(s, work)
        no_policy_violations(driver)
        if proc.poll() is not None:
            fail("the workbench exited during the test")
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print("ok: typed a mistake and fixed it, asked, compared, tested, saw the flows, had two "
          "officers sign (one on the page) and got a bundle policyc verify accepts and the "
          "gateway's loader loads, observed an audit export; "
          "screenshots in " + shots)


if __name__ == "__main__":
    main()
