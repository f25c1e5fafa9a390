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

// The live page: follow its table's data-stream with server-sent events
// and put each new call at the top, keeping the newest maxLiveRows.
// Cells are filled with textContent only: nothing received is markup.
const maxLiveRows = 200;

function enableLive() {
  const table = document.querySelector("table[data-stream]");
  if (!table || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const body = table.tBodies[0];
  const say = (text) => {
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
  };
  const source = new EventSource(table.dataset.stream);
  source.addEventListener("open", () => say("Following: new calls appear at the top as they happen."));
  source.addEventListener("call", (event) => {
    const call = JSON.parse(event.data);
    const row = document.createElement("tr");
    row.className = call.outcome;
    const time = document.createElement("th");
    time.scope = "row";
    time.textContent = call.time;
    row.append(time);
    const fn = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/ui/functions/" + encodeURIComponent(call.function);
    link.textContent = call.function;
    fn.append(link);
    row.append(fn);
    for (const text of [call.route, call.caller, call.outcome, String(call.status), call.code, call.duration]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const id = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = call.request_id;
    id.append(code);
    row.append(id);
    for (const empty of body.querySelectorAll("tr.empty")) empty.remove();
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > maxLiveRows) body.deleteRow(-1);
  });
  source.addEventListener("dropped", (event) => {
    say(event.data + " calls were not shown: this page fell behind. Following again.");
  });
  source.addEventListener("end", (event) => {
    source.close();
    say("Stopped: " + event.data + ". Reload the page to follow again.");
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) say("Stopped. Reload the page to follow again.");
    else say("Connection lost: reconnecting…");
  });
}

document.addEventListener("DOMContentLoaded", enableLive);
