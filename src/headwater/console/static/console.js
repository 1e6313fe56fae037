// headwater console: progressive enhancement only. Every page works without this file.
"use strict";

// Times: the server writes UTC; show them in the browser's own time zone.
function localTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const node of root.querySelectorAll("time[datetime]")) {
    const at = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) {
      node.title = node.getAttribute("datetime");
      node.textContent = format.format(at);
    }
  }
}

// A running import: poll its progress and reload the page when the run has ended. A run can also
// start and end between two polls (a small file): the newest run's id and outcome then differ from
// the ones the page shows, and the page reloads as well.
function followRun(live) {
  const url = live.dataset.liveUrl;
  const progress = document.getElementById("live-progress");
  const numbers = new Intl.NumberFormat();
  const shownRun = live.dataset.run || "";
  let wasWorking = live.dataset.status === "working";
  async function tick() {
    let state;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return;
      state = await answer.json();
    } catch (error) {
      return;
    }
    if (state.status === "working" && state.run) {
      const seconds = state.run.elapsedSeconds;
      const rate = seconds && seconds >= 1 ? Math.round(state.run.rows / seconds) : null;
      progress.textContent = `${numbers.format(state.run.files)} file(s), ${numbers.format(state.run.rows)} rows so far` +
        (rate ? ` · ${numbers.format(rate)} rows/s` : "");
      wasWorking = true;
    } else if (wasWorking || (state.run ? `${state.run.runId}:${state.run.outcome}` : "") !== shownRun) {
      window.location.reload();
      return;
    }
  }
  tick();
  window.setInterval(tick, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const live = document.getElementById("live");
  if (live) followRun(live);
});
