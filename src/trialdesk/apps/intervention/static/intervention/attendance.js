// Keyboard-only attendance register: p / n / a mark the focused row and move on to the next row;
// arrow keys change a row as in any radio group; Enter saves. Without JavaScript the form still works.
// With htmx the save replaces the form in place, so the new form is set up again (htmx:load) and keeps
// the focus htmx gives it (the Save button) instead of jumping back to the first row.
(function () {
  "use strict";
  const radios = (row) => Array.from(row.querySelectorAll("input[type=radio]"));
  const focusRow = (row) => {
    const options = radios(row);
    (options.find((radio) => radio.checked) || options[0]).focus();
  };

  function setUp(form, first) {
    if (form.hasAttribute("data-attendance-ready")) return;
    form.setAttribute("data-attendance-ready", "");
    const rows = Array.from(form.querySelectorAll("[data-row]"));
    const count = form.querySelector("#marked-count");
    const save = form.querySelector("#save");
    const update = () => {
      const marked = rows.filter((row) => radios(row).some((radio) => radio.checked)).length;
      const words = count.dataset.template || "%(marked)s of %(total)s marked"; // translated by the template
      count.textContent = words.replace("%(marked)s", marked).replace("%(total)s", rows.length);
    };
    form.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || !event.target.closest) return;
      const row = event.target.closest("[data-row]");
      if (!row) return;
      const key = event.key.toLowerCase();
      const chosen = radios(row).find((radio) => radio.dataset.key === key);
      if (chosen) {
        event.preventDefault();
        chosen.checked = true;
        chosen.dispatchEvent(new Event("change", { bubbles: true }));
        const next = rows[rows.indexOf(row) + 1];
        if (next) focusRow(next); else save.focus();
      } else if (event.key === "Enter") {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("change", update);
    update();
    if (first && rows.length) focusRow(rows[0]);
  }

  const form = document.querySelector("form[data-attendance]");
  if (form) setUp(form, true);
  document.body.addEventListener("htmx:load", (event) => {
    const root = event.target;
    const swapped = root.matches && root.matches("form[data-attendance]")
      ? root : root.querySelector && root.querySelector("form[data-attendance]");
    if (swapped) setUp(swapped, false);
  });
})();
