// Dashboard: idle (run now, next scheduled run), running (live progress), finished (completion statistics).
(function () {
  "use strict";
  const { api, toast, fmtDate, fmtDuration } = window.App;
  const $ = (id) => document.getElementById(id);
  const log = (text) => { if (window.debugLog) window.debugLog(text); };
  const DISMISSED = "dismissed-completion-id";
  let current = JSON.parse($("initial-status").textContent);
  const progress = window.ProgressView.View();
  let shownScreen = null;
  let renderedCompletion = null;

  function show(screen) {
    for (const name of ["idle", "running", "finished"]) $(`screen-${name}`).hidden = name !== screen;
    if (screen !== shownScreen) { log(`screen: ${screen}`); shownScreen = screen; }
  }

  function renderIdle(run) {
    $("run-now").disabled = false;
    const next = run.next_run_time;
    $("next-run").textContent = next ? `Next scheduled run: ${fmtDate(next)}` : "No scheduled run.";
    $("countdown").hidden = !next;
    tickCountdown();
  }

  function tickCountdown() {
    const next = current.next_run_time;
    if (!next || $("screen-idle").hidden) return;
    const seconds = (Date.parse(next) - Date.now()) / 1000;
    $("countdown").textContent = seconds > 0 ? `Starts in ${fmtDuration(seconds)}` : "Starting…";
  }

  async function renderFinished(run) {
    if (!run.catalogs) {  // a live "finished" message carries no per-catalog data: fetch the detail
      try { run = (await api(`/api/runs/${run.id}`)).run; } catch (error) { log(`run detail failed: ${error.message}`); }
    }
    $("finished-heading").textContent = `Run #${run.id} ${run.status.replaceAll("_", " ")}`;
    $("finished-heading").className = `flush status status-${run.status}`;
    $("finished-trigger").textContent = run.trigger || "";
    $("finished-link").href = `/runs/${run.id}/`;
    if (renderedCompletion !== `${run.id}:${run.seq}`) {
      renderedCompletion = `${run.id}:${run.seq}`;
      RunView.render($("completion"), run);
    }
  }

  function renderScheduler(scheduler) {
    const warning = scheduler && scheduler.warning;
    $("scheduler-banner").hidden = !warning;
    $("scheduler-banner").textContent = warning || "";
  }

  function render(run, event) {
    // Live messages carry only the run: keep the schedule and scheduler state of the last snapshot.
    current = Object.assign({ next_run_time: current.next_run_time, scheduler: current.scheduler }, run);
    renderScheduler(current.scheduler);
    if (run.active) {
      show("running");
      progress.render(run);
    } else if (run.id && run.status !== "idle" && localStorage.getItem(DISMISSED) !== String(run.id)) {
      show("finished");
      renderFinished(run);
    } else {
      show("idle");
      renderIdle(current);
    }
    if (event === "finished") live.refetch("finished");
  }

  const accept = (run, event) => live.accept(run, event);
  const control = (action) => window.ProgressView.control(action, accept);

  $("run-now").addEventListener("click", () => { $("run-now").disabled = true; control("run").finally(() => { $("run-now").disabled = false; }); });
  $("run-again").addEventListener("click", () => control("run"));
  window.ProgressView.bindControls(() => current, accept);
  $("dismiss").addEventListener("click", () => {
    localStorage.setItem(DISMISSED, String(current.id));
    location.reload();  // the overview (last run, trends, records) is rendered by the server
  });

  setInterval(tickCountdown, 1000);
  setInterval(() => { if (!current.active) live.refetch("idle refresh"); }, 60000);

  const indicator = $("live-indicator");
  const live = window.Live(render, (state) => {
    indicator.dataset.state = state;
    $("live-state").textContent = state;
  });
  live.accept(current, "initial");
})();
