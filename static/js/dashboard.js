// Dashboard: idle (the value first, the last run as one line, run now, next scheduled run, addon
// health with "Check now") or running (live progress). A run's full statistics are on its run page.
(function () {
  "use strict";
  const { el, fmtDate, fmtDuration } = window.App;
  const $ = (id) => document.getElementById(id);
  const log = (text) => { if (window.debugLog) window.debugLog(text); };
  // Rendered by the server (what is warm, the measured effect, the last run...): re-read after a run.
  const SERVER_PARTS = ["last-run", "value-cards", "overview"];
  let current = JSON.parse($("initial-status").textContent);
  const progress = window.ProgressView.View();
  let shownScreen = null;

  function show(screen) {
    for (const name of ["idle", "running"]) $(`screen-${name}`).hidden = name !== screen;
    if (screen !== shownScreen) { log(`screen: ${screen}`); shownScreen = screen; }
  }

  async function refreshOverview() {
    try {
      const response = await fetch("/", { credentials: "same-origin" });
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of SERVER_PARTS) {
        const part = fresh.getElementById(id);
        if (part && $(id)) $(id).replaceWith(part);
      }
    } catch (error) {
      log(`overview refresh failed: ${error.message}`);
    }
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

  function renderScheduler(scheduler) {
    const warning = scheduler && scheduler.warning;
    $("scheduler-banner").hidden = !warning;
    $("scheduler-banner").textContent = warning || "";
  }

  function render(run, event) {
    // Live messages carry only the run: keep the schedule and scheduler state of the last snapshot.
    current = Object.assign({ next_run_time: current.next_run_time, scheduler: current.scheduler }, run);
    renderScheduler(current.scheduler);
    const wasRunning = shownScreen === "running";
    if (run.active) {
      show("running");
      progress.render(run);
    } else {
      show("idle");
      renderIdle(current);
      if (wasRunning) refreshOverview();
    }
    if (event === "finished") live.refetch("finished");
  }

  const accept = (run, event) => live.accept(run, event);
  const control = (action) => window.ProgressView.control(action, accept);

  $("run-now").addEventListener("click", () => { $("run-now").disabled = true; control("run").finally(() => { $("run-now").disabled = false; }); });
  window.ProgressView.bindControls(() => current, accept);

  // The health card's lines, as the template draws them: looked up when the answer comes, since
  // refreshOverview may have replaced the card (and its button: hence a listener on the document).
  function drawHealth(addons) {
    const lines = $("addon-health-lines");
    if (!lines) return;
    lines.replaceChildren(...addons.filter((addon) => addon.enabled).map((addon) =>
      el("p", { class: "small addon-health-line" }, `${addon.label}: `, window.AddonHealth.badge(addon.health))));
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#check-health");
    if (button) window.AddonHealth.check(button, drawHealth);
  });

  setInterval(tickCountdown, 1000);
  setInterval(() => {
    if (current.active) return;
    live.refetch("idle refresh");
    refreshOverview();
  }, 60000);

  const indicator = $("live-indicator");
  const live = window.Live(render, (state) => {
    indicator.dataset.state = state;
    $("live-state").textContent = state;
  });
  live.accept(current, "initial");
})();
