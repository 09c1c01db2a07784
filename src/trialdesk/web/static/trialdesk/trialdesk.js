/* trialdesk: small progressive enhancements. Every page works without this file.
 *
 * 1. Tables with a header row sort by a column when its header button is pressed (aria-sort is kept
 *    up to date for screen readers). Entry tables (inside a form, or holding inputs) keep their declared
 *    order; any other table opts out with data-plain.
 * 2. Tables with many rows (or data-filter) get a labelled filter box that hides rows not containing the
 *    typed text, with a live count of the rows shown.
 * 3. Long jobs: a form or link marked data-working="message" shows that message (and disables the
 *    button) once submitted or followed, so a slow import, export or report never looks stuck.
 */
(function () {
  "use strict";

  var FILTER_FROM_ROWS = 8;
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function cellText(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return (cell.getAttribute("data-sort") || cell.textContent).trim();
  }

  function asNumber(text) {
    if (!/^[-+]?\d+([.,]\d+)?\s*%?$/.test(text)) return null;
    return parseFloat(text.replace(",", "."));
  }

  function compare(a, b) {
    var x = asNumber(a), y = asNumber(b);
    if (x !== null && y !== null) return x - y;
    return collator.compare(a, b);
  }

  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var order = compare(cellText(r1, index), cellText(r2, index));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  // The page's language: base.html puts the translated words on <body> (a script-free way under the CSP).
  function text(name, english) {
    return (document.body && document.body.dataset[name]) || english;
  }

  function makeSortable(table) {
    var headRow = table.tHead && table.tHead.rows[0];
    if (!headRow || !table.tBodies[0] || table.tBodies[0].rows.length < 2) return;
    Array.prototype.forEach.call(headRow.cells, function (th, index) {
      if (th.hasAttribute("data-nosort") || !th.textContent.trim()) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      button.setAttribute("title", text("sort", "Sort by this column"));
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  }

  var filters = 0;
  function addFilter(table) {
    var body = table.tBodies[0];
    if (!body) return;
    if (!table.hasAttribute("data-filter") && body.rows.length < FILTER_FROM_ROWS) return;
    filters += 1;
    var id = "table-filter-" + filters;
    var box = document.createElement("div");
    box.className = "table-filter";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = table.getAttribute("data-filter") || text("filterRows", "Filter rows");
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.autocomplete = "off";
    var count = document.createElement("span");
    count.className = "count";
    count.setAttribute("role", "status");
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(count);
    table.parentNode.insertBefore(box, table);
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var match = !needle || row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) shown += 1;
      });
      count.textContent = needle
        ? text("rowsShown", "%(shown)s of %(total)s rows").replace("%(shown)s", shown).replace("%(total)s", body.rows.length)
        : "";
    });
  }

  function working(element, message) {
    var note = document.createElement("p");
    note.className = "working";
    note.setAttribute("role", "status");
    note.textContent = message;
    element.insertAdjacentElement("afterend", note);
    element.setAttribute("aria-busy", "true");
  }

  function markLongJobs() {
    document.querySelectorAll("form[data-working]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          // Disabled after the submit event, so the pressed button's name still reaches the server.
          window.setTimeout(function () { b.disabled = true; }, 0);
        });
        working(form, form.getAttribute("data-working"));
      });
    });
    document.querySelectorAll("a[data-working]").forEach(function (link) {
      link.addEventListener("click", function () {
        if (link.getAttribute("aria-busy") === "true") return;
        working(link, link.getAttribute("data-working"));
        // A download does not leave the page: clear the note once the browser had time to start it.
        window.setTimeout(function () {
          link.removeAttribute("aria-busy");
          var note = link.nextElementSibling;
          if (note && note.className === "working") note.textContent = text("downloadStarted", "The download should have started.");
        }, 15000);
      });
    });
  }

  function enhance() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.hasAttribute("data-plain") || table.closest("form") ||
          table.querySelector("input, select, textarea, button")) return;
      makeSortable(table);
      addFilter(table);
    });
    markLongJobs();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
  else enhance();
})();
