"""Renders a service-level report page in headless Chromium (Debian's
chromium, chromium-driver and python3-selenium), as ServiceLevelsIntegrationTest
runs it:

    python3 tests/gateway/sla_page_browser.py PAGE.html SHOT.png

The page is served from a local HTTP server with the header the gateway's
admin port sends, Content-Security-Policy: default-src 'none', so anything
the page would load or run is refused and logged. Checks that the four
charts are drawn (inline SVG), that the page names its peer, and that the
browser logged no error (a CSP violation is one); saves a screenshot of the
whole page to SHOT.png. Exits 0 if every check passed.
"""

import http.server
import os
import sys
import tempfile
import threading

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def fail(why):
    print("sla_page_browser: " + why, file=sys.stderr)
    sys.exit(1)


def serve(page_bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            if self.path != "/":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", "default-src 'none'")
            self.send_header("Content-Length", str(len(page_bytes)))
            self.end_headers()
            self.wfile.write(page_bytes)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    page_path, shot = sys.argv[1:]
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            fail("%s is missing: install Debian's %s (scripts/setup.sh does)" % (path, package))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    with open(page_path, "rb") as f:
        server = serve(f.read())
    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1200,900", "--user-data-dir=" + profile):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.get("http://127.0.0.1:%d/" % server.server_port)
            charts = driver.find_elements(By.TAG_NAME, "svg")
            if len(charts) < 4:
                fail("the page draws %d charts, not the four expected" % len(charts))
            if "council-a" not in driver.find_element(By.TAG_NAME, "body").text:
                fail("the page does not name the peer council-a")
            for entry in driver.get_log("browser"):
                if entry["level"] == "SEVERE":
                    fail("the page logged an error: %s" % entry["message"])
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(1200, min(max(height + 40, 900), 6000))
            os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
            if not driver.save_screenshot(shot):
                fail("no screenshot saved to " + shot)
        finally:
            driver.quit()
            server.shutdown()
    print("sla page: %d charts, no console error, screenshot %s" % (len(charts), shot))


if __name__ == "__main__":
    main()
