// pave console: small enhancements only; every page works without this
// file. Loaded from the console's own origin (the CSP allows nothing else).
"use strict";

// A search box that filters the rows of a table (data-filter names the
// table's id). Its paragraph is hidden until this script shows it.
function enableFilters() {
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const table = document.getElementById(input.dataset.filter);
    if (!table) continue;
    const holder = input.closest("[hidden]");
    if (holder) holder.hidden = false;
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      for (const row of table.tBodies[0].rows) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", enableFilters);
