// coachledger serve: small conveniences; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A form sent once is not sent twice by a second click while the page loads.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
    });
  }
  // The replay stepper: the arrow keys step back and forth (not while typing in a field).
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  if (prev || next) {
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest && event.target.closest("input, select, textarea");
      if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "ArrowLeft" && prev) prev.click();
      if (event.key === "ArrowRight" && next) next.click();
    });
  }
  // Timeline filters: choosing an event kind or an actor filters at once.
  const filters = document.getElementById("filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select")) {
      select.addEventListener("change", () => filters.requestSubmit());
    }
  }
});
