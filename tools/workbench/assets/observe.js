// Observe: an audit export (auditctl export's JSON lines) uploaded, parsed
// and summed up by the server (/api/observe), drawn here: decisions over
// time as an SVG bar chart of our own (permits over denies, for all rules
// or one), the rules' counts, the most-denied flows with their reasons, the
// shadow policy's differences, and what the draft would decide otherwise.
// SVG is built with createElementNS and classes from workbench.css: no
// inline style, no markup from strings.
(function () {
  "use strict";
  var wb = window.workbench;
  var $ = function (id) { return document.getElementById(id); };
  var el = wb.el;
  var SVG = "http://www.w3.org/2000/svg";
  var kMaxExport = 900 * 1024;  // with the draft, under the 1 MiB body limit
  var observed = null;  // the last answer

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // {permits, denies} of bucket `b` for `rule` ("" for every rule).
  function countsOf(b, rule) {
    var out = {permits: 0, denies: 0};
    b.rules.forEach(function (r) {
      if (rule !== "" && r.rule !== rule) return;
      out.permits += r.permits;
      out.denies += r.denies;
    });
    return out;
  }

  function chart(rule) {
    var W = 480, H = 160, top = 14, bottom = 18;
    var counts = observed.buckets.map(function (b) { return countsOf(b, rule); });
    var most = Math.max.apply(null, counts.map(function (c) { return c.permits + c.denies; })
                                          .concat([1]));
    var box = svg("svg", {id: "observe-chart", viewBox: "0 0 " + W + " " + H, width: W,
                          height: H, role: "img"});
    var step = W / Math.max(1, counts.length), scale = (H - top - bottom) / most;
    counts.forEach(function (c, i) {
      var x = i * step + 1, w = Math.max(1, step - 2), base = H - bottom;
      var when = observed.buckets[i].start;
      [["permits", "bar-permit"], ["denies", "bar-deny"]].forEach(function (kind) {
        var h = c[kind[0]] * scale;
        if (h <= 0) return;
        var bar = svg("rect", {x: x, y: base - h, width: w, height: h, "class": kind[1],
                               "data-count": c[kind[0]]});
        bar.appendChild(svg("title", {}, when + ": " + c[kind[0]] + " " + kind[0]));
        box.appendChild(bar);
        base -= h;
      });
    });
    box.appendChild(svg("text", {x: 2, y: 11, "class": "chart-label"}, most + " decisions"));
    box.appendChild(svg("text", {x: 2, y: H - 4, "class": "chart-label"},
                        observed.buckets.length ? observed.buckets[0].start : ""));
    box.appendChild(svg("text", {x: W - 2, y: H - 4, "class": "chart-label chart-end"},
                        observed.last));
    return box;
  }

  function flowText(r) {
    return r.sender + " -> " + r.recipient + ": " + r.record_type + " " + r.classification +
           " for " + r.purpose + (r.caveats ? " with " + r.caveats : "");
  }

  function flowTable(id, rows, heading) {
    var table = el("table", undefined, "observe-table");
    table.id = id;
    var head = el("tr");
    ["entries", heading, "rules", "reasons"].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", String(r.count)));
      tr.appendChild(el("td", flowText(r)));
      tr.appendChild(el("td", r.rules.join(", ")));
      tr.appendChild(el("td", r.reasons.map(function (x) {
        return x.reason + (r.reasons.length > 1 ? " (" + x.count + ")" : "");
      }).join("; ")));
      table.appendChild(tr);
    });
    return table;
  }

  function section(out, title, rows, id, heading, none) {
    out.appendChild(el("h4", title));
    out.appendChild(rows.length ? flowTable(id, rows, heading) : el("div", none, "hint"));
  }

  function drawChart() {
    var holder = $("observe-chart-box");
    wb.clear(holder);
    holder.appendChild(chart($("observe-rule").value));
  }

  function show(o) {
    observed = o;
    var out = $("observe-result");
    wb.clear(out);
    var summary = el("div", o.entries + " entries: " + o.permits + " permitted, " + o.denies +
                            " denied, " + o.shadow_differences + " shadow difference(s)" +
                            (o.first ? "; " + o.first + " to " + o.last + ", bars of " +
                                       o.bucket_seconds + " s" : ""));
    summary.id = "observe-summary";
    out.appendChild(summary);
    var select = el("select");
    select.id = "observe-rule";
    select.appendChild(el("option", "every rule"));
    select.firstChild.value = "";
    o.rules.forEach(function (r) {
      var option = el("option", r.rule + " (" + r.permits + " permitted, " + r.denies + " denied)");
      option.value = r.rule;
      select.appendChild(option);
    });
    select.addEventListener("change", drawChart);
    var label = el("label", "Decisions over time by ");
    label.appendChild(select);
    out.appendChild(label);
    var holder = el("div");
    holder.id = "observe-chart-box";
    out.appendChild(holder);
    out.appendChild(el("div", "green: permitted, red: denied", "hint"));
    drawChart();
    section(out, "Most denied", o.most_denied, "observe-denied", "flow", "No denials.");
    section(out, "Shadow policy differences", o.shadow, "observe-shadow", "flow",
            "No shadow differences.");
    var d = o.draft;
    if (d.evaluated) {
      section(out, "The draft on this traffic: " + d.changed + " decision(s) would change",
              d.changes, "observe-draft", "flow", "The draft decides every one the same.");
    } else if (d.error) {
      out.appendChild(el("div", "The draft was not evaluated: " + d.error, "error-text"));
    }
  }

  $("observe-upload").addEventListener("change", function () {
    var input = $("observe-upload"), file = input.files[0];
    if (!file) return;
    if (file.size > kMaxExport) {
      wb.showError($("observe-result"), {data: {error: file.name + " is larger than " + kMaxExport +
          " bytes; export less (auditctl export --since ... --until ...)"}});
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var body = {"export": reader.result};
      if ($("observe-draft").checked) body.source = wb.source();
      wb.post("/api/observe", body).then(function (answer) {
        input.value = "";
        if (!answer.ok) { wb.showError($("observe-result"), answer); return; }
        show(answer.data);
      });
    };
    reader.readAsText(file);
  });
})();
