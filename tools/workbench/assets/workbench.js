// The workbench page: an editor whose text is checked as the officer types
// (debounced, by the compiler through /api/check), a what-if form, a compare
// panel and a test panel (See, Approve and Observe have files of their own). Every answer is the policy library's; this file
// only shows it. No eval, no inline script, no innerHTML: text goes into the
// page through textContent only.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="workbench-token"]').content;

  function $(id) { return document.getElementById(id); }

  // POSTs `body` as JSON with the page's token; resolves to {ok, status, data}.
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Workbench-Token": token},
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, status: r.status, data: data}; },
                           function () { return {ok: false, status: r.status,
                                                 data: {error: "HTTP " + r.status}}; });
    }, function (e) { return {ok: false, status: 0, data: {error: "no answer: " + e}}; });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function showError(node, answer) {
    clear(node);
    node.appendChild(el("div", answer.data.error || ("HTTP " + answer.status), "error-text"));
  }

  var editor = CodeMirror.fromTextArea($("editor"), {
    mode: "ghp", lineNumbers: true, gutters: ["CodeMirror-lint-markers"],
    lint: {getAnnotations: lint, async: false, delay: 400}
  });

  // --- Edit: diagnostics as you type -----------------------------------------
  function fixButton(d) {
    var b = el("button", "use '" + d.suggestion + "'");
    b.type = "button";
    b.className = "apply-fix";
    b.addEventListener("click", function (ev) {
      ev.stopPropagation();
      var from = CodeMirror.Pos(d.line - 1, d.column - 1);
      var word = editor.findWordAt(from);
      var to = word.head.line === from.line ? word.head : from;
      editor.replaceRange(d.suggestion, from, to);
    });
    return b;
  }

  function showDiagnostics(report) {
    var list = $("diagnostics");
    clear(list);
    report.diagnostics.forEach(function (d) {
      var li = el("li", d.file + ":" + d.line + ":" + d.column + ": " + d.severity + ": " +
                        d.message + " [" + d.code + "]", d.severity);
      li.dataset.line = d.line;
      li.dataset.code = d.code;
      li.addEventListener("click", function () {
        editor.focus();
        editor.setCursor(CodeMirror.Pos(d.line - 1, d.column - 1));
      });
      if (d.suggestion) li.appendChild(fixButton(d));
      list.appendChild(li);
    });
    $("check-summary").textContent = report.errors + " error(s), " + report.warnings +
        " warning(s), " + report.rules + " rule(s)";
  }

  function lint(text) {
    return post("/api/check", {source: text}).then(function (answer) {
      if (!answer.ok) {
        $("check-summary").textContent = "check failed: " + (answer.data.error || answer.status);
        return [];
      }
      showDiagnostics(answer.data);
      // The cases run on the text just checked, and only while the editor
      // still holds it: an answer that comes after more typing would
      // otherwise send the newer text, which may not compile.
      if ($("cases").value.trim() !== "" && answer.data.errors === 0 &&
          editor.getValue() === text) {
        runTests();
      }
      return answer.data.diagnostics.map(function (d) {
        var from = CodeMirror.Pos(d.line - 1, Math.max(0, d.column - 1));
        var word = editor.findWordAt(from);
        return {from: from, to: word.head.line === from.line ? word.head : from,
                message: d.message + (d.suggestion ? " (did you mean " + d.suggestion + "?)" : ""),
                severity: d.severity === "error" ? "error" : "warning"};
      });
    });
  }

  // --- Format, and Save (Ctrl-S) ------------------------------------------------
  // The server formats as `policyc fmt` does (comments kept) and refuses a
  // draft that does not parse; the text is then left exactly as typed.
  function format() {
    return post("/api/format", {source: editor.getValue()}).then(function (answer) {
      if (!answer.ok) return answer;
      if (answer.data.formatted !== editor.getValue()) {
        var cursor = editor.getCursor();
        var scroll = editor.getScrollInfo();
        editor.setValue(answer.data.formatted);
        editor.setCursor(Math.min(cursor.line, editor.lastLine()), cursor.ch);
        editor.scrollTo(scroll.left, scroll.top);
      }
      return answer;
    });
  }

  function formatResult(text, cls) {
    clear($("format-result"));
    if (text) $("format-result").appendChild(el("span", text, cls));
  }

  $("format-run").addEventListener("click", function () {
    format().then(function (answer) {
      if (answer.ok) formatResult(""); else showError($("format-result"), answer);
    });
  });

  // The server keeps no file: Save downloads the draft (named as the
  // --policy file), formatted first. One that does not parse is saved as
  // typed, never lost, and the page says why it was not formatted.
  var policyFile = "draft.ghp";
  var saveUrl = null;
  function save() {
    format().then(function (answer) {
      if (saveUrl) URL.revokeObjectURL(saveUrl);
      saveUrl = URL.createObjectURL(new Blob([editor.getValue()], {type: "text/plain"}));
      var a = el("a");
      a.href = saveUrl;
      a.download = policyFile;
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      if (answer.ok) {
        formatResult("saved " + policyFile + ", formatted", "saved");
      } else {
        formatResult("saved " + policyFile + " as typed, not formatted: " +
                     (answer.data.error || "HTTP " + answer.status), "error-text");
      }
    });
  }
  $("save-run").addEventListener("click", save);
  // Ctrl-S (Cmd-S) anywhere on the page saves the draft, not the page.
  document.addEventListener("keydown", function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && (ev.key === "s" || ev.key === "S")) {
      ev.preventDefault();
      save();
    }
  });

  // --- Ask ---------------------------------------------------------------------
  var askFields = ["sender", "recipient", "type", "classification", "purpose", "originator",
                   "role"];
  $("ask-run").addEventListener("click", function () {
    var body = {source: editor.getValue(), caveats: $("ask-caveats").value,
                legal_basis: $("ask-legal-basis").value};
    askFields.forEach(function (f) { body[f] = $("ask-" + f).value.trim(); });
    post("/api/ask", body).then(function (answer) {
      var out = $("ask-result");
      if (!answer.ok) { showError(out, answer); return; }
      var d = answer.data;
      clear(out);
      out.appendChild(el("div", (d.allowed ? "ALLOWED" : "DENIED") + " (" + d.outcome + ")",
                         d.allowed ? "allowed" : "denied"));
      if (d.rules.length) out.appendChild(el("div", "deciding rule(s): " + d.rules.join(", ")));
      if (d.obligations) out.appendChild(el("div", "obligations: " + d.obligations));
      out.appendChild(el("pre", d.explanation, "explanation"));
    });
  });

  // --- Compare -----------------------------------------------------------------
  $("compare-run").addEventListener("click", function () {
    var body = {source: editor.getValue()};
    if ($("against").value.trim() !== "") body.against = $("against").value;
    post("/api/compare", body).then(function (answer) {
      var out = $("compare-result");
      if (!answer.ok) { showError(out, answer); return; }
      clear(out);
      if (answer.data.empty) { out.appendChild(el("div", "No change.")); return; }
      answer.data.declarations.forEach(function (d) { out.appendChild(el("div", d)); });
      answer.data.changes.forEach(function (c) {
        var box = el("div", undefined, "change " + c.kind.replace(/ /g, "-"));
        box.appendChild(el("strong", c.kind));
        c.flows.forEach(function (f) { box.appendChild(el("div", f)); });
        if (c.obligations) box.appendChild(el("div", c.obligations));
        box.appendChild(el("div", "now " + c.after + "; was " + c.before));
        if (c.causes.length) box.appendChild(el("div", "because: " + c.causes.join("; ")));
        var show = el("button", "Show on the picture", "show-on-picture");
        show.type = "button";
        show.addEventListener("click", function () { window.workbench.showOnPicture(c.picture); });
        box.appendChild(show);
        out.appendChild(box);
      });
    });
  });

  // --- Test --------------------------------------------------------------------
  function runTests() {
    return post("/api/test", {source: editor.getValue(), cases: $("cases").value})
        .then(function (answer) {
      var out = $("test-result");
      if (!answer.ok) { showError(out, answer); return; }
      var d = answer.data;
      clear(out);
      out.appendChild(el("div", d.total + " case(s), " + d.failed + " failed", "test-summary"));
      d.cases.forEach(function (c) {
        out.appendChild(el("div", (c.passed ? "PASS " : "FAIL ") + "line " + c.line + " " +
                                  c.name + (c.passed ? "" : ": " + c.why),
                           c.passed ? "case-passed" : "case-failed"));
      });
      var cov = d.coverage;
      out.appendChild(el("div", "coverage: " + cov.exercised + " of " + cov.total +
                                " rule(s) exercised", "coverage-summary"));
      cov.rules.forEach(function (r) {
        if (!r.exercised) {
          out.appendChild(el("div", "  not exercised: " + r.kind + " " + r.id +
                                    " (line " + r.line + ")", "rule-missed"));
        }
      });
    });
  }
  $("test-run").addEventListener("click", runTests);

  // What the other panels' scripts (see.js, approve.js, observe.js) share.
  window.workbench = {post: post, el: el, clear: clear, showError: showError,
                      source: function () { return editor.getValue(); }};

  // --- Start: what the workbench was opened with -------------------------------
  post("/api/session", {}).then(function (answer) {
    if (!answer.ok) { $("check-summary").textContent = answer.data.error; return; }
    $("cases").value = answer.data.cases;
    $("against").value = answer.data.against;
    policyFile = answer.data.policy_file || policyFile;
    editor.setValue(answer.data.policy);
  });
})();
