// The run page: its full completion summary, from the data the server embedded with json_script.
// While the run is active: its live progress with Pause/Resume and Cancel (progress.js, as on the
// dashboard), subscribed to this run only; when it ends, its completion summary in place.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const initial = JSON.parse($("run-detail").textContent);
  const completion = $("completion");
  if (!initial.active) {
    RunView.render(completion, initial, { full: true });
    return;
  }

  const progress = window.ProgressView.View();
  let current = initial;

  function render(run, event) {
    current = run;
    $("run-page-status").textContent = run.status.replaceAll("_", " ");
    $("run-page-status").className = `status status-${run.status}`;
    if (run.active) {
      progress.render(run);
      $("screen-running").hidden = false;
      return;
    }
    $("screen-running").hidden = true;
    completion.hidden = false;
    RunView.render(completion, run, { full: true });
    if (!run.catalogs && event !== "snapshot") {
      live.refetch("finished");  // a live "finished" message carries no per-catalog data: the detail does
    } else {
      live.stop();  // a finished run changes no more
      $("live-indicator").hidden = true;
    }
  }

  const accept = (run, event) => live.accept(run, event);
  window.ProgressView.bindControls(() => current, accept);
  const live = window.Live(render, (state) => {
    $("live-indicator").dataset.state = state;
    $("live-state").textContent = state;
  }, { runId: initial.id });
  live.accept(initial, "initial");
})();
