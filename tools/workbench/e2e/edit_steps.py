"""The browser test's Save steps (workbench_browser_test.py): Ctrl-S formats
the draft as `policyc fmt` formats the same text (comments kept) and
downloads it under the --policy file's name; a draft that does not parse is
left exactly as typed, saved as typed, and the page says why it was not
formatted.
"""
import os

import approve_steps

COMMENT = "# Kept by Save (the browser test).\n"


def fail(why):
    raise SystemExit("FAIL: " + why)


def ctrl_s(s):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    s.cm("cm.focus();")
    ActionChains(s.driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()


def read(path):
    with open(path) as f:
        return f.read()


def saved(s, downloads, work, name):
    """Presses Ctrl-S; returns the text of the file the page downloaded."""
    return read(approve_steps.download(s, downloads, work, name, lambda: ctrl_s(s)))


def same(what, got, want):
    if got != want:
        fail("%s is not what policyc fmt prints:\n--- got\n%s\n--- want\n%s" % (what, got, want))


def save_formats(s, policyc, work, downloads):
    typed = s.cm("return cm.getValue();")
    line = "\n  when sender sector is council\n"
    if line not in typed:
        fail("the draft has no line 'when sender sector is council' to mess up")
    typed = typed.replace(line, "\n        when   sender sector is  council\n", 1) + COMMENT
    s.cm("cm.setValue(arguments[0]);", typed)
    typed_file = os.path.join(work, "typed.ghp")
    with open(typed_file, "w") as f:
        f.write(typed)
    want = approve_steps.run([policyc, "fmt", typed_file])
    if COMMENT.strip() not in want:
        fail("policyc fmt dropped the comment")
    text = saved(s, downloads, work, "saved.ghp")
    s.wait_for("format-result", "saved northshire.ghp, formatted")
    same("the draft after Ctrl-S", s.cm("return cm.getValue();"), want)
    same("the file saved", text, want)

    broken = want + "permit (\n"
    s.cm("cm.setValue(arguments[0]);", broken)
    text = saved(s, downloads, work, "broken.ghp")
    s.wait_for("format-result", "saved northshire.ghp as typed, not formatted",
               "does not parse", "draft.ghp:")
    s.wait_for("check-summary", "1 error(s)")
    s.shot("save-refused")
    approve_steps.only_the_expected_refusal(s.driver, "/api/format", "400")
    if s.cm("return cm.getValue();") != broken or text != broken:
        fail("a draft that does not parse was changed by Save")
    s.cm("cm.setValue(arguments[0]);", want)
