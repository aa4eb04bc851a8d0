"""The browser test's See steps (workbench_browser_test.py): the flows of
northshire as a grid of organisations, a permitted and a no-permit cell, a
click that asks about one; then by sector, after the draft gains a second
health trust that may not send to councils: health -> council is "mixed",
and clicking it lists each flow with its outcome, one of which asks about
itself when clicked. The draft is put back as it was for the later steps.
And Compare's change on the same picture: "Show on the picture" draws the
grid of the change's labels, compared, with the newly permitted cell
outlined and saying what it was.
"""
SECOND_TRUST = "organisation nhs-trust-b sector health accredited OFFICIAL-SENSITIVE\n"
TRUST_B_FORBID = """
forbid trust-b-not-to-councils
  "nhs-trust-b has no agreement with the council yet."
  when sender is nhs-trust-b
    and recipient sector is council
"""


def fail(why):
    raise SystemExit("FAIL: " + why)


def click_when(s, selector, want_class, want_text, timeout=20):
    """Clicks the cell `selector` once it has class `want_class` and text
    `want_text`. The grid is drawn again whenever an answer arrives (the
    draft changed, the axes changed), so an element found a moment ago may be
    gone: it is looked up afresh until it matches and the click lands."""
    import time
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException)
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            cell = s.driver.find_element("css selector", selector)
            seen = (cell.get_attribute("class"), cell.text)
            if want_class in seen[0].split() and want_text in seen[1]:
                cell.click()
                return
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        time.sleep(0.1)
    fail("%s is not a %s cell showing %r: %r" % (selector, want_class, want_text, seen))


def see_comparison(s):
    """After Compare has shown police-council-crime newly permitted."""
    buttons = s.driver.find_elements("css selector", "#compare-result .show-on-picture")
    if len(buttons) != 1:
        fail("Compare shows %d 'Show on the picture' buttons, not 1" % len(buttons))
    buttons[0].click()
    s.wait_for("see-result", "crime_report for safeguarding at OFFICIAL",
               "compared with the other version")
    selector = '#see-grid td[data-sender="police-a"][data-recipient="council-a"]'
    click_when(s, selector, "changed", "was no-permit")
    cell = s.driver.find_element("css selector", selector)
    if cell.get_attribute("data-change") != "newly permitted" or \
            "cell-permitted" not in cell.get_attribute("class").split():
        fail("police-a -> council-a is not a newly permitted cell: %r %r"
             % (cell.get_attribute("data-change"), cell.get_attribute("class")))
    others = s.driver.find_elements("css selector", "#see-grid td.changed")
    if len(others) != 1:
        fail("%d cells are outlined as changed, not 1" % len(others))
    s.wait_for("ask-result", "ALLOWED", "police-council-crime")  # the click asked about it
    s.driver.execute_script("document.getElementById('see-panel').scrollIntoView();")
    s.shot("compare-picture", "see-panel")
    for field in ("see-type", "see-purpose", "see-caveats"):
        s.driver.find_element("id", field).clear()
    s.driver.find_element("id", "see-compare").click()  # unchecked for the later steps


def see_flows(s):
    s.driver.find_element("id", "see-type").send_keys("discharge_summary")
    s.driver.find_element("id", "see-purpose").send_keys("direct_care")
    s.driver.find_element("id", "see-run").click()
    s.wait_for("see-result", "nhs-trust-a", "council-a", "police-a")
    s.select("see-classification", "OFFICIAL-SENSITIVE")
    s.wait_for("see-result", "at OFFICIAL-SENSITIVE")
    cell = s.driver.find_element(
        "css selector",
        '#see-grid td[data-sender="nhs-trust-a"][data-recipient="council-a"]')
    classes = cell.get_attribute("class").split()
    if "cell-permitted" not in classes or "enc" not in cell.text:
        fail("nhs-trust-a -> council-a is not a permitted cell marked enc: %r %r"
             % (classes, cell.text))
    colour = cell.value_of_css_property("background-color")
    if colour in ("rgba(0, 0, 0, 0)", "transparent"):
        fail("the permitted cell is not coloured (CSS not applied?)")
    other = s.driver.find_element(
        "css selector", '#see-grid td[data-sender="council-a"][data-recipient="police-a"]')
    if "cell-nopermit" not in other.get_attribute("class").split():
        fail("council-a -> police-a is not a no-permit cell: %r" % other.get_attribute("class"))
    cell.click()
    s.wait_for("ask-result", "ALLOWED", "health-council-care", "encrypt")
    if s.driver.find_element("id", "ask-classification").get_attribute("value") != \
            "OFFICIAL-SENSITIVE":
        fail("clicking the cell did not fill the Ask form with its classification")
    s.driver.execute_script("document.getElementById('ask-panel').scrollIntoView();")
    s.shot("see")


def see_sectors(s):
    before = s.cm("return cm.getValue();")
    s.cm("cm.setValue(arguments[0]);",
         before.replace("organisation police-a", SECOND_TRUST + "organisation police-a", 1)
         + TRUST_B_FORBID)
    s.select("see-axes", "sectors")
    s.driver.find_element("id", "see-run").click()
    s.wait_for("see-result", "by sector", "health", "council", "police")
    click_when(s, '#see-grid td[data-sender-sector="health"][data-recipient-sector="council"]',
               "cell-mixed", "mixed")
    s.wait_for("see-explain", "health -> council at OFFICIAL-SENSITIVE: mixed",
               "2 flows: 1 permitted, 1 forbidden", "nhs-trust-a -> council-a: permitted (enc",
               "nhs-trust-b -> council-a: forbidden", "trust-b-not-to-councils")
    s.driver.execute_script("document.getElementById('see-panel').scrollIntoView();")
    s.shot("see-sectors", "see-panel")
    member = [m for m in s.driver.find_elements("css selector", "#see-explain .member")
              if m.text.startswith("nhs-trust-b")]
    if not member:
        fail("the explanation lists no nhs-trust-b flow")
    member[0].click()
    s.wait_for("ask-result", "DENIED", "trust-b-not-to-councils")
    s.cm("cm.setValue(arguments[0]);", before)
    s.select("see-axes", "organisations")
