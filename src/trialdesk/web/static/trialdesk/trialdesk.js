/* trialdesk: small progressive enhancements. Every page works without this file.
 *
 * 1. Tables with a header row sort by a column when its header button is pressed (aria-sort is kept
 *    up to date for screen readers). Entry tables (inside a form, or holding inputs) keep their declared
 *    order; any other table opts out with data-plain.
 * 2. Tables with many rows (or data-filter) get a labelled filter box that hides rows not containing the
 *    typed text, with a live count of the rows shown.
 * 3. Long jobs: a form or link marked data-working="message" shows that message (and disables the
 *    button) once submitted or followed, so a slow import, export or report never looks stuck.
 * 4. Parts of pages updated by htmx (hx-get/hx-post, see trialdesk/web/partials.py) get 1 and 2 again,
 *    are marked busy while loading, keep keyboard focus (on the updated region when the focused element
 *    was replaced), and fall back to a whole page when the answer is not a part of this one.
 * 5. A form field checked as it is typed (its error region is marked data-field-error, see
 *    assessments/_field.html): the field's aria-invalid and its row's "invalid" mark follow the answer.
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
    if (table.hasAttribute("data-enhanced")) return;
    table.setAttribute("data-enhanced", "");
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

  function once(element, name) {
    if (element.hasAttribute(name)) return false;
    element.setAttribute(name, "");
    return true;
  }

  function markLongJobs(root) {
    root.querySelectorAll("form[data-working]").forEach(function (form) {
      if (!once(form, "data-working-ready")) return;
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          // Disabled after the submit event, so the pressed button's name still reaches the server.
          window.setTimeout(function () { b.disabled = true; }, 0);
        });
        working(form, form.getAttribute("data-working"));
      });
    });
    root.querySelectorAll("a[data-working]").forEach(function (link) {
      if (!once(link, "data-working-ready")) return;
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

  function enhance(root) {
    root = root && root.querySelectorAll ? root : document;
    var tables = Array.prototype.slice.call(root.querySelectorAll("table"));
    if (root.matches && root.matches("table")) tables.push(root);
    tables.forEach(function (table) {
      if (!table.closest("main") || table.hasAttribute("data-plain") || table.closest("form") ||
          table.querySelector("input, select, textarea, button") || table.hasAttribute("data-enhanced")) return;
      makeSortable(table);
      addFilter(table);
    });
    markLongJobs(root);
  }

  // htmx: the region a request will replace is busy until the answer is in.
  function busy(event, on) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    if (on) target.setAttribute("aria-busy", "true");
    else target.removeAttribute("aria-busy");
  }

  function samePath(a, b) {
    return new URL(a, window.location.href).pathname === new URL(b, window.location.href).pathname;
  }

  function htmxEvents() {
    var body = document.body;
    body.addEventListener("htmx:load", function (event) { enhance(event.target); });
    body.addEventListener("htmx:beforeRequest", function (event) { busy(event, true); });
    body.addEventListener("htmx:afterRequest", function (event) { busy(event, false); });
    // An answer from another address (the session expired and the login page answered, or the page
    // moved on) is a whole page: show it as one rather than inside this page.
    var focusedRegion = null;
    body.addEventListener("htmx:beforeSwap", function (event) {
      var xhr = event.detail.xhr;
      if (xhr && xhr.responseURL && !samePath(xhr.responseURL, event.detail.pathInfo.requestPath)) {
        event.detail.shouldSwap = false;
        window.location.assign(xhr.responseURL);
        return;
      }
      var target = event.detail.target;
      focusedRegion = target && target.id && target.contains(document.activeElement) ? target.id : null;
    });
    // htmx puts focus back on an element with the same id; when the focused element is gone (a button
    // that no longer applies), focus the updated region rather than leaving it at the page's top.
    body.addEventListener("htmx:afterSettle", function () {
      var region = focusedRegion && document.getElementById(focusedRegion);
      var active = document.activeElement;
      focusedRegion = null;
      if (region && (!active || active === document.body)) {
        if (!region.hasAttribute("tabindex")) region.setAttribute("tabindex", "-1");
        region.focus({ preventScroll: true });
      }
    });
    // Refused or failed (403, 404, 500, no connection): a GET is shown as the whole page the server
    // answers; a POST stored nothing, so say so where the user is.
    function failed(event) {
      var detail = event.detail;
      var verb = (detail.requestConfig && detail.requestConfig.verb) || "get";
      // Polling (a job's progress) simply tries again at its next tick.
      if (detail.elt && /\bevery\b/.test(detail.elt.getAttribute("hx-trigger") || "")) return;
      if (verb === "get" && detail.pathInfo) {
        window.location.assign(detail.pathInfo.requestPath);
        return;
      }
      var live = document.getElementById("live-status");
      var message = text("updateFailed", "The page could not be updated; nothing has changed. Reload the page and try again.");
      var note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.textContent = message;
      (detail.elt || body).insertAdjacentElement("afterend", note);
      if (live) live.textContent = message;
    }
    body.addEventListener("htmx:responseError", failed);
    body.addEventListener("htmx:sendError", failed);
    body.addEventListener("htmx:afterSwap", function (event) {
      var region = event.detail.target;
      if (!region || !region.hasAttribute("data-field-error")) return;
      var invalid = region.textContent.trim() !== "";
      document.querySelectorAll('[aria-describedby~="' + region.id + '"]').forEach(function (field) {
        if (invalid) field.setAttribute("aria-invalid", "true");
        else field.removeAttribute("aria-invalid");
      });
      var row = region.closest("tr");
      if (row) row.classList.toggle("invalid", invalid);
    });
  }

  function start() {
    enhance(document);
    htmxEvents();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
