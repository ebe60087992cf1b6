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

// The case's live progress waits at the server for the next change (`data-live`): a
// request that failed (a restart, the network) is tried again after a moment instead of
// leaving the page still.
for (const name of ["htmx:sendError", "htmx:responseError"]) {
  document.addEventListener(name, (event) => {
    const elt = event.detail && event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-live]") && window.htmx) {
      setTimeout(() => {
        if (elt.isConnected) {
          window.htmx.trigger(elt, "retry");
        }
      }, 2000);
    }
  });
}

// The reviewer's workbench: fields tied to their boxes on the page image, a walk over the
// problems (failing and uncertain fields), keyboard shortcuts, zoom and pan.
(() => {
  const bench = () => document.querySelector(".workbench");
  let current = null; // the field row being worked on
  const confirmed = new Set(); // fields the reviewer confirmed (kept across htmx swaps)
  let zoom = 1;

  const rowOf = (key) =>
    document.querySelector(`.field-row[data-key="${CSS.escape(key)}"]`);

  function showPage(number) {
    for (const figure of document.querySelectorAll(".canvas .page")) {
      figure.hidden = figure.dataset.page !== String(number);
    }
    for (const tab of document.querySelectorAll("[data-show-page]")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.showPage === String(number)));
    }
  }

  function highlight(key) {
    for (const box of document.querySelectorAll(".field-box.active")) {
      box.classList.remove("active");
    }
    const row = rowOf(key);
    if (row && row.dataset.page) {
      showPage(row.dataset.page);
    }
    const box = document.querySelector(`.field-box[data-key="${CSS.escape(key)}"]`);
    if (box) {
      box.classList.add("active");
      box.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
    }
  }

  function select(row, focus) {
    if (!row) {
      return;
    }
    for (const other of document.querySelectorAll(".field-row.current")) {
      other.classList.remove("current");
    }
    current = row;
    row.classList.add("current");
    const label = document.querySelector("[data-current-label]");
    if (label) {
      label.textContent = row.dataset.label || row.dataset.field;
    }
    highlight(row.dataset.key);
    const input = row.querySelector(".field-value");
    if (focus && input) {
      input.focus();
      input.select();
    }
    row.scrollIntoView({ block: "nearest" });
  }

  function problems() {
    return [...document.querySelectorAll(".field-row[data-problem]:not([data-problem=''])")]
      .filter((row) => !confirmed.has(row.dataset.key));
  }

  function nextProblem() {
    const list = problems();
    const status = document.getElementById("walk-status");
    if (!list.length) {
      if (status) {
        status.textContent = "没有待处理的问题了。";
      }
      return;
    }
    if (status) {
      status.textContent = `还有 ${list.length} 个问题待处理。`;
    }
    const all = [...document.querySelectorAll(".field-row")];
    const at = current ? all.indexOf(current) : -1;
    const next = list.find((row) => all.indexOf(row) > at) || list[0];
    select(next, true);
  }

  // Confirming a field stores it as checked against the paper (the server assesses the
  // case again and answers the fields and the checklist), then walks on.
  function confirmAndNext() {
    const b = bench();
    if (!current || !b || typeof htmx === "undefined") {
      nextProblem();
      return;
    }
    confirmed.add(current.dataset.key);
    const source = document.querySelector("[data-confirm-next]");
    htmx.ajax("POST", `/review/${b.dataset.case}/confirmation`, {
      source, target: "#fields", swap: "outerHTML",
      values: { document_id: current.dataset.document, field: current.dataset.field },
    }).then(() => nextProblem());
  }

  function applyZoom() {
    for (const svg of document.querySelectorAll(".page-svg")) {
      svg.style.width = `${Math.round(zoom * 100)}%`;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!bench()) {
      return;
    }
    const canvas = document.getElementById("canvas");
    document.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) {
        return;
      }
      const box = target.closest(".field-box");
      if (box) {
        select(rowOf(box.dataset.key), true);
        return;
      }
      const tab = target.closest("[data-show-page]");
      if (tab) {
        showPage(tab.dataset.showPage);
        return;
      }
      const zoomButton = target.closest("[data-zoom]");
      if (zoomButton) {
        const how = zoomButton.dataset.zoom;
        zoom = how === "in" ? Math.min(zoom * 1.25, 6) : how === "out"
          ? Math.max(zoom / 1.25, 0.5) : 1;
        applyZoom();
        return;
      }
      if (target.closest("[data-next-problem]")) {
        nextProblem();
      } else if (target.closest("[data-confirm-next]")) {
        confirmAndNext();
      } else if (target.closest("[data-open-keys]")) {
        document.getElementById("keys").showModal();
      }
    });
    document.addEventListener("focusin", (event) => {
      const row = event.target instanceof Element ? event.target.closest(".field-row") : null;
      if (row && row !== current) {
        select(row, false);
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        confirmAndNext();
      } else if (event.key === "?" && event.shiftKey) {
        const editing = event.target instanceof HTMLElement
          && event.target.matches("input:not([type=checkbox]):not([type=radio]), textarea");
        if (!editing) {
          event.preventDefault();
          document.getElementById("keys").showModal();
        }
      } else if (event.target === canvas && (event.key === "+" || event.key === "-")) {
        zoom = event.key === "+" ? Math.min(zoom * 1.25, 6) : Math.max(zoom / 1.25, 0.5);
        applyZoom();
      }
    });
    const allLines = document.getElementById("all-lines");
    if (allLines) {
      allLines.addEventListener("change", () => {
        canvas.classList.toggle("show-all", allLines.checked);
      });
    }
    // Pan: drag the page image inside its pane.
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (event.target instanceof Element && event.target.closest(".field-box")) {
        return;
      }
      drag = { x: event.clientX, y: event.clientY, left: canvas.scrollLeft,
               top: canvas.scrollTop };
      canvas.classList.add("dragging");
    });
    window.addEventListener("pointermove", (event) => {
      if (drag) {
        canvas.scrollLeft = drag.left - (event.clientX - drag.x);
        canvas.scrollTop = drag.top - (event.clientY - drag.y);
      }
    });
    window.addEventListener("pointerup", () => {
      drag = null;
      canvas.classList.remove("dragging");
    });
    // The correction names the current field and carries its edited value.
    document.body.addEventListener("htmx:configRequest", (event) => {
      const form = event.detail.elt;
      if (!(form instanceof HTMLFormElement) || form.id !== "correction") {
        return;
      }
      if (current) {
        const input = current.querySelector(".field-value");
        event.detail.parameters.document_id = current.dataset.document;
        event.detail.parameters.field = current.dataset.field;
        event.detail.parameters.value = input ? input.value : "";
      }
    });
    // After the fields are answered again: the same field stays the current one.
    document.body.addEventListener("htmx:afterSwap", () => {
      // The boxes on the page image follow their fields' new standing.
      for (const box of document.querySelectorAll(".field-box")) {
        const row = rowOf(box.dataset.key);
        const problem = row ? row.dataset.problem || "none" : "none";
        box.classList.remove("problem-failing", "problem-uncertain", "problem-none");
        box.classList.add(`problem-${problem}`);
      }
      for (const key of confirmed) {
        const row = rowOf(key);
        if (row) {
          row.classList.add("confirmed");
          row.dataset.confirmed = "true";
        }
      }
      const done = document.querySelector("[data-corrected]");
      if (done) {
        const reason = document.getElementById("reason");
        if (reason) {
          reason.value = "";
        }
      }
      if (current) {
        const again = rowOf(current.dataset.key);
        current = null;
        select(again, false);
      }
    });
  });
})();
