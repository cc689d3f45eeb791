// Crisis admin pages: "add another mission" on the trigger page, live refresh on the detail page.
(function () {
  "use strict";

  const addButton = document.getElementById("add-mission");
  if (addButton) {
    addButton.addEventListener("click", function () {
      const total = document.getElementById("id_missions-TOTAL_FORMS");
      const index = parseInt(total.value, 10);
      const html = document.getElementById("mission-template").innerHTML.replace(/__prefix__/g, index);
      document.querySelector("#missions-table tbody").insertAdjacentHTML("beforeend", html);
      total.value = index + 1;
    });
  }

  const detail = document.querySelector(".crisis-detail");
  if (!detail || detail.dataset.active !== "true") {
    return;
  }

  function setStatus(element, status, labels) {
    element.textContent = labels[status] || status;
    element.className = "crisis-status crisis-status-" + status;
  }

  function formatStamp(stamp) {
    return stamp ? stamp.replace("T", " ").replace(/\.\d+Z$/, "") : "";
  }

  function render(record) {
    setStatus(document.getElementById("crisis-status"), record.status, record.status_labels);
    const done = record.summary.completed_phases + record.summary.failed_phases;
    const bar = document.getElementById("crisis-progress");
    bar.max = record.summary.total_phases;
    bar.value = done;
    document.getElementById("crisis-progress-text").textContent = done + "/" + record.summary.total_phases;
    document.getElementById("crisis-completed").textContent = record.summary.completed_phases;
    document.getElementById("crisis-failed").textContent = record.summary.failed_phases;
    document.getElementById("crisis-duration").textContent = record.duration;
    record.phases.forEach(function (phase) {
      const row = document.querySelector('tr[data-phase-id="' + CSS.escape(phase.phase_id) + '"]');
      if (!row) {
        return;
      }
      setStatus(row.querySelector('[data-field="status"] span'), phase.status, record.phase_status_labels);
      row.querySelector('[data-field="attempts"]').textContent = phase.attempts;
      row.querySelector('[data-field="error"]').textContent = phase.error;
      row.querySelector('[data-field="timestamp"]').textContent = formatStamp(phase.timestamp);
    });
  }

  function poll() {
    fetch(detail.dataset.progressUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (record) {
        render(record);
        if (record.active) {
          window.setTimeout(poll, 1000);
        } else {
          // Ended: reload once for the audit events and to drop the Cancel button.
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }

  window.setTimeout(poll, 1000);
})();
