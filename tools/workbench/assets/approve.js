// Approve: the draft compiled to a bundle (/api/approve/compile), offered
// for download; each officer signs it on their own machine with
// `policyc sign` and uploads the signed copy (/api/approve/add), which the
// server checks and merges. Or, for an officer whose sealed key the
// workbench was started with (--officer-sealed-key), "Sign here": the
// passphrase goes to /api/approve/sign, which opens the key for that one
// signature; the key never comes to the page, and the passphrase field is
// emptied at once. The page holds the bundle being collected (base64) and
// nothing else; the server keeps none.
(function () {
  "use strict";
  var wb = window.workbench;
  var $ = function (id) { return document.getElementById(id); };
  var el = wb.el;
  var bundle = null;     // base64 of the bundle being collected
  var objectUrl = null;  // the download link's blob, revoked when replaced
  // An add request carries two bundles in base64 (4/3 of their size each):
  // two of this size stay under the server's 1 MiB body limit.
  var kMaxUpload = 380 * 1024;

  function fileName(review) {
    var v = (review.version || "draft").replace(/[^A-Za-z0-9._-]/g, "_");
    return "policy-" + v + ".bundle";
  }

  function downloadLink(review) {
    var bytes = atob(review.bundle);
    var raw = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) raw[i] = bytes.charCodeAt(i);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(new Blob([raw], {type: "application/octet-stream"}));
    var a = el("a", review.ready ? "Download the signed bundle" : "Download the bundle to sign");
    a.id = "approve-download";
    a.href = objectUrl;
    a.download = fileName(review);
    return a;
  }

  function officersTable(review) {
    var table = el("table");
    table.id = "approve-officers";
    var head = el("tr");
    ["officer", "key", "signed"].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    review.officers.forEach(function (o) {
      var row = el("tr", undefined, o.signed ? "officer-signed" : "officer-waiting");
      row.appendChild(el("td", o.name));
      row.appendChild(el("td", o.fingerprint));
      row.appendChild(el("td", o.signed ? "signed as '" + o.signed_as + "'" : "not yet"));
      table.appendChild(row);
    });
    return table;
  }

  function rulesList(review) {
    var box = el("details");
    box.appendChild(el("summary", review.rules.length + " rule(s) in the bundle"));
    review.rules.forEach(function (r) {
      box.appendChild(el("div", r.kind + " " + r.id + (r.obligations ? ": then " + r.obligations : "") +
                                (r.description ? "  \"" + r.description + "\"" : "")));
    });
    return box;
  }

  function show(review) {
    bundle = review.bundle;
    var out = $("approve-result");
    wb.clear(out);
    out.appendChild(el("div", "policy '" + review.policy + "', version '" + review.version +
                              "'; issued " + review.issued + ", expires " + review.expires));
    out.appendChild(el("div", "what is signed: BLAKE2b-256 " + review.digest, "digest"));
    out.appendChild(el("div", "(each officer: check this digest with `policyc show` before " +
                              "signing)", "hint"));
    var status = el("div", review.signed + " of " + review.required + " required signature(s): " +
                           (review.ready ? "READY: a gateway trusting these officers loads it"
                                         : "not ready (" + review.not_ready + ")"),
                    review.ready ? "allowed" : "denied");
    status.id = "approve-status";
    out.appendChild(status);
    out.appendChild(officersTable(review));
    out.appendChild(rulesList(review));
    out.appendChild(downloadLink(review));
    if (!review.ready) {
      out.appendChild(el("pre", "policyc sign " + fileName(review) +
                                " --key YOU.key --name 'Your Name' -o YOU-signed.bundle",
                         "command"));
    }
    $("approve-signing").hidden = false;
    signHereChoices(review);
  }

  // The officers who can sign here and have not yet.
  function signHereChoices(review) {
    var select = $("approve-here-officer");
    wb.clear(select);
    review.officers.forEach(function (o) {
      if (!o.sign_here || o.signed) return;
      var option = el("option", o.name);
      option.value = o.name;
      select.appendChild(option);
    });
    $("approve-here").hidden = review.ready || select.options.length === 0;
  }

  function readBase64(file) {
    return new Promise(function (resolve, reject) {
      if (file.size > kMaxUpload) {
        reject(file.name + " is larger than " + kMaxUpload + " bytes: not a bundle from this page");
        return;
      }
      var reader = new FileReader();
      reader.onload = function () {
        var raw = new Uint8Array(reader.result), s = "";
        for (var i = 0; i < raw.length; i += 8192) {
          s += String.fromCharCode.apply(null, raw.subarray(i, i + 8192));
        }
        resolve(btoa(s));
      };
      reader.onerror = function () { reject("cannot read " + file.name); };
      reader.readAsArrayBuffer(file);
    });
  }

  // Posts `makeBody(base64 of the chosen file)`; shows the review, or the
  // refusal in `errorNode` (the bundle being collected is left as it was).
  function onFile(input, path, makeBody, errorNode, done) {
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) return;
      readBase64(file).then(function (b64) {
        return wb.post(path, makeBody(b64)).then(function (answer) {
          input.value = "";
          if (!answer.ok) { wb.showError($(errorNode), answer); return; }
          wb.clear($(errorNode));
          show(answer.data);
          $(errorNode).appendChild(el("div", done + " " + file.name));
        });
      }, function (why) { wb.showError($(errorNode), {data: {error: why}}); });
    });
  }

  $("approve-here-run").addEventListener("click", function () {
    var officer = $("approve-here-officer").value;
    var passphrase = $("approve-here-passphrase").value;
    $("approve-here-passphrase").value = "";
    wb.post("/api/approve/sign", {bundle: bundle, officer: officer, passphrase: passphrase})
        .then(function (answer) {
      if (!answer.ok) { wb.showError($("approve-here-result"), answer); return; }
      wb.clear($("approve-here-result"));
      show(answer.data);
      $("approve-here-result").appendChild(el("div", "signed here for " + officer));
    });
  });

  $("approve-compile").addEventListener("click", function () {
    wb.post("/api/approve/compile", {source: wb.source(), version: $("approve-version").value,
                                     valid_days: $("approve-valid-days").value.trim()})
        .then(function (answer) {
      wb.clear($("approve-upload-result"));
      wb.clear($("approve-here-result"));
      if (!answer.ok) { bundle = null; wb.showError($("approve-result"), answer);
                        $("approve-signing").hidden = true; return; }
      show(answer.data);
    });
  });
  onFile($("approve-upload"), "/api/approve/add",
         function (b64) { return {bundle: bundle, signed: b64}; }, "approve-upload-result",
         "added the signature(s) in");
  onFile($("approve-open"), "/api/approve/review",
         function (b64) { return {bundle: b64}; }, "approve-result",
         "opened");
})();
