// Dashboard: idle (run now, next scheduled run), running (live progress), finished (completion statistics).
(function () {
  "use strict";
  const { api, el, toast, fmtDate, fmtDuration } = window.App;
  const $ = (id) => document.getElementById(id);
  const log = (text) => { if (window.debugLog) window.debugLog(text); };
  const DISMISSED = "dismissed-completion-id";
  let current = JSON.parse($("initial-status").textContent);
  let receivedAt = Date.now();
  let previousAddons = {};
  let shownScreen = null;
  let renderedCompletion = null;

  const limitText = (n) => (n === undefined || n === null || n < 0 ? "∞" : String(n));
  const pct = (a, b) => (b > 0 ? Math.min(100, (100 * a) / b) : 0);

  // A bar and its progressbar role: the width shows it, aria-valuenow says it (0..100).
  function setBar(name, percent, text) {
    $(`bar-${name}`).style.width = `${percent}%`;
    const bar = $(`progress-${name}`);
    bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    bar.setAttribute("aria-valuetext", text);
  }

  function show(screen) {
    for (const name of ["idle", "running", "finished"]) $(`screen-${name}`).hidden = name !== screen;
    if (screen !== shownScreen) { log(`screen: ${screen}`); shownScreen = screen; }
  }

  function counter(label, value, limit, extra) {
    return el("div", { class: "stat" },
      el("div", { class: "value" }, String(value), limit !== undefined ? el("span", { class: "of" }, ` / ${limitText(limit)}`) : null),
      el("div", { class: "label" }, label), extra ? el("div", { class: "label" }, extra) : null);
  }

  function elapsedNow(run) {
    const p = run.progress || {};
    let elapsed = Number(p.elapsed_s || 0);
    if (run.active && run.status === "running" && !p.paused) elapsed += (Date.now() - receivedAt) / 1000;
    return elapsed;
  }

  function renderRunning(run) {
    const p = run.progress || {};
    const stats = p.statistics || {};
    const limits = p.limits || {};
    const paused = run.status === "paused" || run.status === "pausing";
    $("run-heading").textContent = run.cancel_requested ? "Cancelling…" : run.status === "queued" ? "Starting…"
      : run.status === "pausing" ? "Pausing…" : run.status === "paused" ? "Paused" : "Prefetching…";
    $("run-status").textContent = run.cancel_requested ? "cancelling" : run.status;
    $("run-status").className = `status status-${run.status}`;
    $("pause-resume").textContent = paused ? "Resume" : "Pause";
    $("pause-resume").disabled = run.cancel_requested || run.status === "queued";
    $("cancel-run").disabled = !!run.cancel_requested;

    const item = p.item || {};
    $("now-title").textContent = item.title || (run.status === "queued" ? "Waiting for the worker…" : "Walking catalogs…");
    $("now-type").textContent = item.type || "";
    $("now-type").className = `badge ${item.type || ""}`;
    $("now-type").hidden = !item.type;
    $("now-episode").textContent = item.episode ? item.episode : item.video_id && item.video_id !== item.id ? item.video_id : "";
    const resumes = run.resumes || [];
    const lastResume = resumes[resumes.length - 1];
    $("run-worker").textContent = (run.worker ? `Worker: ${run.worker}` : "")
      + (lastResume ? ` · resumed ${resumes.length}× (last: ${lastResume.reason})` : "");
    const catalog = p.catalog;
    $("now-catalog").textContent = catalog ? `Catalog: ${App.catalogLabel(catalog.name, catalog.type)} from ${catalog.addon} · ${App.plural(catalog.pages, "page")}` : "";

    const done = p.catalogs_done || 0, total = p.catalogs_total || 0;
    $("text-catalogs").textContent = `${done} / ${total}`;
    setBar("catalogs", pct(done, total), $("text-catalogs").textContent);
    const inCatalog = catalog ? catalog.prefetched : 0;
    const catalogLimit = catalog ? catalog.limit : -1;
    $("text-catalog").textContent = catalog ? `${inCatalog} / ${limitText(catalogLimit)}` : "–";
    setBar("catalog", catalogLimit > 0 ? pct(inCatalog, catalogLimit) : 0, $("text-catalog").textContent);
    const maxTime = p.max_execution_time_s;
    const elapsed = elapsedNow(run);
    $("row-time").hidden = !(maxTime > 0);
    $("text-time").textContent = `${fmtDuration(elapsed)} / ${maxTime > 0 ? fmtDuration(maxTime) : "∞"}`
      + (p.paused_s ? ` (+ ${fmtDuration(p.paused_s)} paused)` : "");
    setBar("time", pct(elapsed, maxTime), $("text-time").textContent);

    $("counters").replaceChildren(
      counter("Movies", stats.movies_prefetched || 0, limits.movies_global),
      counter("Series", stats.series_prefetched || 0, limits.series_global),
      counter("Episodes", stats.episodes_prefetched || 0),
      counter("Already prefetched", stats.already_prefetched || 0),
      counter("Items failed", stats.items_failed || 0, undefined, `${stats.videos_failed || 0} videos failed`),
      counter("Stream requests", stats.stream_requests || 0, undefined,
        `${stats.stream_requests_ok || 0} ok · ${stats.stream_requests_failed || 0} failed after retries · ${stats.stream_requests_retried_ok || 0} ok after a retry`),
      limits.cache_requests_enabled ? counter("Cache requests", stats.cache_requests_sent || 0, limits.cache_requests_global, `✓ ${stats.cache_requests_ok || 0}`) : null,
      counter("Pages", stats.pages_fetched || 0));
    for (const node of $("counters").querySelectorAll(".stat")) node.dataset.counter = node.querySelector(".label").textContent;

    // ETA: catalogs done plus the fraction of the current one; bounded by the time limit.
    let eta = null;
    const fraction = catalogLimit > 0 ? Math.min(1, inCatalog / catalogLimit) : 0;
    const progressed = done + fraction;
    if (total && progressed > 0 && elapsed > 5) eta = (elapsed / progressed) * total - elapsed;
    if (maxTime > 0) eta = eta === null ? null : Math.min(eta, Math.max(0, maxTime - elapsed));
    $("eta").textContent = paused ? "Paused." : eta === null ? "ETA: estimating…" : `ETA: about ${fmtDuration(eta)}`;

    const tbody = $("addon-rates").querySelector("tbody");
    const rows = (p.addons || []).filter((a) => a.requests || a.other_requests).map((a) => {
      const before = previousAddons[a.name];
      let rate = p.elapsed_s ? (a.requests / p.elapsed_s) * 60 : 0;
      if (before && p.elapsed_s - before.elapsed >= 1) rate = ((a.requests - before.requests) / (p.elapsed_s - before.elapsed)) * 60;
      return el("tr", {}, el("td", { title: a.url || "" }, a.name), el("td", {}, a.requests), el("td", {}, rate.toFixed(0)),
        el("td", {}, a.ok), el("td", {}, a.failed), el("td", {}, window.RunView.paceText(a)),
        el("td", {}, `${a.latency_ms_p50 === null ? "–" : a.latency_ms_p50 + " ms"} / ${a.latency_ms_p95 === null ? "–" : a.latency_ms_p95 + " ms"}`));
    });
    tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No requests yet."))]));
    const seen = {};
    for (const a of p.addons || []) seen[a.name] = { requests: a.requests, elapsed: p.elapsed_s || 0 };
    previousAddons = seen;

    const tail = $("log-tail");
    const atBottom = tail.scrollHeight - tail.scrollTop - tail.clientHeight < 30;
    tail.textContent = (p.log_tail || []).join("\n");
    if (atBottom) tail.scrollTop = tail.scrollHeight;
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
    receivedAt = Date.now();
    renderScheduler(current.scheduler);
    if (run.active) {
      show("running");
      renderRunning(run);
    } else if (run.id && run.status !== "idle" && localStorage.getItem(DISMISSED) !== String(run.id)) {
      show("finished");
      renderFinished(run);
    } else {
      show("idle");
      renderIdle(current);
    }
    if (event === "finished") live.refetch("finished");
  }

  async function control(action, body) {
    try {
      const data = await api(`/api/job/${action}`, { method: "POST", body });
      if (data.status) live.accept(data.status, action);
      if (action === "run") toast("Run started.", "success");
    } catch (error) {
      toast(error.message, "error", error.data && error.data.fix);
    }
  }

  $("run-now").addEventListener("click", () => { $("run-now").disabled = true; control("run").finally(() => { $("run-now").disabled = false; }); });
  $("run-again").addEventListener("click", () => control("run"));
  $("pause-resume").addEventListener("click", () => {
    control(current.status === "paused" || current.status === "pausing" ? "resume" : "pause");
  });
  $("cancel-run").addEventListener("click", () => {
    if (confirm("Cancel the running prefetch? Work done so far is kept.")) control("cancel");
  });
  $("dismiss").addEventListener("click", () => {
    localStorage.setItem(DISMISSED, String(current.id));
    location.reload();  // the overview (last run, trends, records) is rendered by the server
  });

  setInterval(() => {
    tickCountdown();
    if (current.active && current.status === "running") {
      const p = current.progress || {};
      const elapsed = elapsedNow(current);
      const maxTime = p.max_execution_time_s;
      $("text-time").textContent = `${fmtDuration(elapsed)} / ${maxTime > 0 ? fmtDuration(maxTime) : "∞"}`;
      setBar("time", pct(elapsed, maxTime), $("text-time").textContent);
    }
  }, 1000);
  setInterval(() => { if (!current.active) live.refetch("idle refresh"); }, 60000);

  const indicator = $("live-indicator");
  const live = window.Live(render, (state) => {
    indicator.dataset.state = state;
    $("live-state").textContent = state;
  });
  live.accept(current, "initial");
})();
