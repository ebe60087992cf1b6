// docintake pages: behaviour that needs script lives here (the CSP forbids inline script).
"use strict";

// Drag and drop onto an upload form: the dropped files go into its file input and the
// form is sent, as if they had been picked.
document.addEventListener("DOMContentLoaded", () => {
  // A page answered to a POST names the address it stands for: reloading it then reads
  // the page again instead of repeating the action.
  const main = document.querySelector("main[data-canonical-url]");
  if (main) {
    history.replaceState(null, "", main.dataset.canonicalUrl);
  }

  for (const zone of document.querySelectorAll("[data-dropzone]")) {
    const input = zone.querySelector("input[type=file]");
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      if (input && event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        zone.requestSubmit();
      }
    });
  }
});
