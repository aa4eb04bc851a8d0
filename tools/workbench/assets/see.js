// See: the flows the draft permits (/api/flows) as a grid, one
// classification (layer) at a time, with organisations or sectors on the
// axes. A sector cell is the server's summary of its organisations' cells
// ("mixed" when they differ); clicking it lists them, and clicking an
// organisation cell (or one of those) asks about that flow in Ask. Compared
// (the box under the grid, or Compare's "Show on the picture"), each cell
// the other version decides differently is outlined and says what it was.
(function () {
  "use strict";
  var wb = window.workbench;
  var $ = function (id) { return document.getElementById(id); };
  var el = wb.el;
  var flows = null;  // the last /api/flows answer, every layer

  function cellClass(outcome) {
    var known = {"permitted": 1, "forbidden": 1, "no-permit": 1, "write-down": 1, "mixed": 1};
    return "cell cell-" + (known[outcome] ? outcome.replace("-", "") : "other");
  }

  function askAbout(layer, c) {
    var values = {sender: c.sender, recipient: c.recipient, type: flows.record_type,
                  classification: layer, purpose: flows.purpose,
                  caveats: flows.caveats.join(", "), originator: "", role: "",
                  "legal-basis": ""};
    Object.keys(values).forEach(function (f) { $("ask-" + f).value = values[f]; });
    $("ask-panel").open = true;
    $("ask-run").click();
  }

  // What a compared cell was: "was no-permit", "was enc, keep 8y".
  function wasText(c) {
    return "was " + (c.change === "obligations changed" ? c.before.marks : c.before.outcome);
  }

  function organisationCell(layer, c) {
    var td = el("td", undefined, cellClass(c.outcome) + (c.change ? " changed" : ""));
    td.appendChild(el("div", c.outcome, "outcome"));
    if (c.marks) td.appendChild(el("div", c.marks, "marks"));
    if (c.change) {
      td.appendChild(el("div", wasText(c), "was"));
      td.dataset.change = c.change;
    }
    td.dataset.sender = c.sender;
    td.dataset.recipient = c.recipient;
    td.title = c.sender + " -> " + c.recipient + ": " + c.outcome +
        (c.rules.length ? " by " + c.rules.join(", ") : "") +
        (c.obligations ? "; " + c.obligations : "") +
        (c.change ? "\n" + c.change + ": was " + c.before.outcome +
                    (c.before.rules.length ? " by " + c.before.rules.join(", ") : "") +
                    (c.before.obligations ? "; " + c.before.obligations : "") : "");
    td.addEventListener("click", function () { askAbout(layer, c); });
    return td;
  }

  // What a sector cell sums up: its summary, rules and each organisation
  // flow, which asks about itself when clicked.
  function explainSector(layer, c) {
    var out = $("see-explain");
    wb.clear(out);
    out.appendChild(el("strong", c.sender_sector + " -> " + c.recipient_sector + " at " +
                                 layer + ": " + c.outcome));
    out.appendChild(el("div", c.summary));  // each flow shows its own obligations below
    if (c.rules.length) out.appendChild(el("div", "deciding rule(s): " + c.rules.join(", ")));
    c.members.forEach(function (m) {
      var row = el("div", m.sender + " -> " + m.recipient + ": " + m.outcome +
                          (m.marks ? " (" + m.marks + ")" : "") +
                          (m.change ? " [" + m.change + "]" : ""),
                   "member " + cellClass(m.outcome));
      row.addEventListener("click", function () { askAbout(layer, m); });
      out.appendChild(row);
    });
    if (c.members.length) out.appendChild(el("div", "Click a flow to ask about it.", "hint"));
  }

  function sectorCell(layer, c) {
    if (c.outcome === "none") return el("td", "-", "cell-self");
    var td = el("td", undefined, cellClass(c.outcome) + (c.changed ? " changed" : ""));
    td.appendChild(el("div", c.outcome, "outcome"));
    if (c.marks) td.appendChild(el("div", c.marks, "marks"));
    if (c.changed) td.appendChild(el("div", c.changed + " changed", "was"));
    td.dataset.senderSector = c.sender_sector;
    td.dataset.recipientSector = c.recipient_sector;
    td.title = c.sender_sector + " -> " + c.recipient_sector + ": " + c.summary;
    td.addEventListener("click", function () { explainSector(layer, c); });
    return td;
  }

  // A table of `names` down and across; cell(sender, recipient) draws each.
  function grid(corner, names, cell, heading) {
    var table = el("table");
    table.id = "see-grid";
    var head = el("tr");
    head.appendChild(el("th", corner));
    names.forEach(function (r) { head.appendChild(heading(r)); });
    table.appendChild(head);
    names.forEach(function (s) {
      var row = el("tr");
      row.appendChild(heading(s));
      names.forEach(function (r) { row.appendChild(cell(s, r)); });
      table.appendChild(row);
    });
    return table;
  }

  function cellsOf(layers, layer, key) {
    var cells = {};
    layers.forEach(function (l) {
      if (l.classification !== layer) return;
      l.cells.forEach(function (c) { cells[key(c)] = c; });
    });
    return cells;
  }

  function organisationGrid(layer) {
    var cells = cellsOf(flows.layers, layer, function (c) { return c.sender + "\n" + c.recipient; });
    return grid("sender \\ recipient", flows.organisations, function (s, r) {
      var c = cells[s + "\n" + r];
      return c ? organisationCell(layer, c) : el("td", "-", "cell-self");
    }, function (name) { return el("th", name); });
  }

  function sectorGrid(layer) {
    var cells = cellsOf(flows.sector_layers, layer, function (c) {
      return c.sender_sector + "\n" + c.recipient_sector;
    });
    var members = {};
    flows.sectors.forEach(function (s) { members[s.sector] = s.organisations; });
    return grid("sender sector \\ recipient sector",
                flows.sectors.map(function (s) { return s.sector; }), function (s, r) {
      var c = cells[s + "\n" + r];
      return c ? sectorCell(layer, c) : el("td", "-", "cell-self");
    }, function (name) {
      var th = el("th", name);
      th.title = members[name].length ? members[name].join(", ") : "no organisations";
      return th;
    });
  }

  function drawGrid() {
    var out = $("see-result");
    wb.clear(out);
    var layer = $("see-classification").value;
    var bySector = $("see-axes").value === "sectors";
    out.appendChild(el("div", flows.record_type + " for " + flows.purpose + " at " + layer +
                              (flows.caveats.length ? " with " + flows.caveats.join(", ") : "") +
                              (bySector ? ", by sector" : "") +
                              (flows.compared ? ", compared with the other version" : "")));
    out.appendChild(bySector ? sectorGrid(layer) : organisationGrid(layer));
    var explain = el("div", undefined, "see-explain");
    explain.id = "see-explain";
    out.appendChild(explain);
  }

  function chooseLayers(classifications) {
    var select = $("see-classification");
    var chosen = select.value;
    wb.clear(select);
    classifications.forEach(function (c) {
      var option = el("option", c);
      option.value = c;
      select.appendChild(option);
    });
    if (classifications.indexOf(chosen) >= 0) select.value = chosen;
  }

  // Asks for the picture and draws it once, at `layer` if it is given and
  // one of the answer's (else the layer chosen before, or the first).
  function runSee(layer) {
    var body = {source: wb.source(), caveats: $("see-caveats").value};
    if ($("see-type").value.trim() !== "") body.record_type = $("see-type").value.trim();
    if ($("see-purpose").value.trim() !== "") body.purpose = $("see-purpose").value.trim();
    if ($("see-compare").checked) {
      body.compare = true;  // with Compare's version, or the bundle in force
      if ($("against").value.trim() !== "") body.against = $("against").value;
    }
    return wb.post("/api/flows", body).then(function (answer) {
      if (!answer.ok) { flows = null; wb.showError($("see-result"), answer); return; }
      flows = answer.data;
      chooseLayers(flows.classifications);
      if (typeof layer === "string" && flows.classifications.indexOf(layer) >= 0) {
        $("see-classification").value = layer;
      }
      drawGrid();
    });
  }
  $("see-run").addEventListener("click", function () { runSee(); });

  // Compare's "Show on the picture": the change's labels (/api/compare's
  // "picture"), compared, at its classification.
  wb.showOnPicture = function (picture) {
    $("see-type").value = picture.record_type;
    $("see-purpose").value = picture.purpose;
    $("see-caveats").value = picture.caveats.join(", ");
    $("see-compare").checked = true;
    $("see-panel").open = true;
    return runSee(picture.classification).then(function () {
      if (flows) $("see-panel").scrollIntoView();
    });
  };
  $("see-classification").addEventListener("change", function () { if (flows) drawGrid(); });
  $("see-axes").addEventListener("change", function () { if (flows) drawGrid(); });
})();
