// Live progress of an active run (templates/prefetch/_progress.html): its bars, counters, ETA, addon
// rates and log tail, and its Pause/Resume and Cancel buttons. One definition for the dashboard and
// the run page; each feeds it the runs its window.Live subscription accepts.
(function () {
  "use strict";
  const { api, el, toast, fmtDuration } = window.App;
  const $ = (id) => document.getElementById(id);

  const limitText = (n) => (n === undefined || n === null || n < 0 ? "∞" : String(n));
  const pct = (a, b) => (b > 0 ? Math.min(100, (100 * a) / b) : 0);
  const isPaused = (run) => run.status === "paused" || run.status === "pausing";

  // The engine's own estimate (`progress.eta_s`, from the planned work left at the measured rate):
  // a number of seconds, or null until it means something.
  function etaText(run) {
    const p = run.progress || {};
    if (isPaused(run) || p.paused) return "Paused.";
    return typeof p.eta_s === "number" && Number.isFinite(p.eta_s) ? `ETA: about ${fmtDuration(p.eta_s)}` : "ETA: estimating…";
  }

  // A bar and its progressbar role: the width shows it, aria-valuenow says it (0..100).
  function setBar(name, percent, text) {
    $(`bar-${name}`).style.width = `${percent}%`;
    const bar = $(`progress-${name}`);
    bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    bar.setAttribute("aria-valuetext", text);
  }

  // A tile; `data-counter` names it for tests and assistive lookups. kind "bad": a failure count.
  function counter(label, value, limit, extra, kind) {
    return el("div", { class: kind ? `stat stat-${kind}` : "stat", "data-counter": label },
      el("div", { class: "value" }, String(value), limit !== undefined ? el("span", { class: "of" }, ` / ${limitText(limit)}`) : null),
      el("div", { class: "label" }, label), extra ? el("div", { class: "label" }, extra) : null);
  }

  function counters(p) {
    const stats = p.statistics || {};
    const limits = p.limits || {};
    return [
      counter("Movies", stats.movies_prefetched || 0, limits.movies_global),
      counter("Series", stats.series_prefetched || 0, limits.series_global),
      counter("Episodes", stats.episodes_prefetched || 0),
      counter("Already prefetched", stats.already_prefetched || 0),
      counter("Items failed", stats.items_failed || 0, undefined, `${stats.videos_failed || 0} videos failed`),
      stats.catalogs_failed ? counter("Catalogs failed", stats.catalogs_failed, undefined, null, "bad") : null,
      stats.items_not_reached ? counter("Not reached (stopped)", stats.items_not_reached) : null,
      counter("Stream requests", stats.stream_requests || 0, undefined, window.RunView.streamRequestsText(stats)),
      limits.cache_requests_enabled
        ? counter("Cache requests", stats.cache_requests_sent || 0, limits.cache_requests_global, `✓ ${stats.cache_requests_ok || 0}`) : null,
      counter("Pages", stats.pages_fetched || 0),
    ].filter(Boolean);  // a tile that does not apply is left out, never rendered as "null"
  }

  // The view of one page's running screen: renders each accepted run and keeps the time bar moving.
  function View() {
    let current = null;
    let receivedAt = Date.now();
    let previousAddons = {};

    function elapsedNow(run) {
      const p = run.progress || {};
      let elapsed = Number(p.elapsed_s || 0);
      if (run.active && run.status === "running" && !p.paused) elapsed += (Date.now() - receivedAt) / 1000;
      return elapsed;
    }

    function renderTime(run) {
      const p = run.progress || {};
      const maxTime = p.max_execution_time_s;
      const elapsed = elapsedNow(run);
      $("row-time").hidden = !(maxTime > 0);
      $("text-time").textContent = `${fmtDuration(elapsed)} / ${maxTime > 0 ? fmtDuration(maxTime) : "∞"}`
        + (p.paused_s ? ` (+ ${fmtDuration(p.paused_s)} paused)` : "");
      setBar("time", pct(elapsed, maxTime), $("text-time").textContent);
    }

    function render(run) {
      current = run;
      receivedAt = Date.now();
      const p = run.progress || {};
      const paused = isPaused(run);
      $("run-heading").textContent = run.cancel_requested ? "Cancelling…" : run.status === "queued" ? "Starting…"
        : run.status === "pausing" ? "Pausing…" : run.status === "paused" ? "Paused" : "Prefetching…";
      $("run-status").textContent = run.cancel_requested ? "cancelling" : run.status;
      $("run-status").className = `status status-${run.status}`;
      $("pause-resume").textContent = paused ? "Resume" : "Pause";
      $("pause-resume").disabled = !!run.cancel_requested || run.status === "queued";
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
      renderTime(run);

      $("counters").replaceChildren(...counters(p));
      $("eta").textContent = etaText(run);

      const tbody = $("addon-rates").querySelector("tbody");
      const addonColumns = [...$("addon-rates").querySelectorAll("thead th")].map((th) => th.textContent);
      const rows = (p.addons || []).filter((a) => a.requests || a.other_requests).map((a) => {
        const before = previousAddons[a.name];
        let rate = p.elapsed_s ? (a.requests / p.elapsed_s) * 60 : 0;
        if (before && p.elapsed_s - before.elapsed >= 1) rate = ((a.requests - before.requests) / (p.elapsed_s - before.elapsed)) * 60;
        const cells = [a.name, a.requests, rate.toFixed(0), a.ok, a.failed, window.RunView.paceText(a),
          `${a.latency_ms_p50 === null ? "–" : a.latency_ms_p50 + " ms"} / ${a.latency_ms_p95 === null ? "–" : a.latency_ms_p95 + " ms"}`];
        // Each cell names its column: on a phone the rows are cards (css: .stack-on-phone).
        return el("tr", {}, cells.map((value, i) => el("td", { "data-label": addonColumns[i], title: i ? null : a.url || "" }, value)));
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

    // Between snapshots the time bar moves on its own while the run is running.
    setInterval(() => { if (current && current.active && current.status === "running") renderTime(current); }, 1000);
    return { render };
  }

  // POST /api/job/<action> (run, pause, resume, cancel); the answer's status goes to `accept`.
  async function control(action, accept) {
    try {
      const data = await api(`/api/job/${action}`, { method: "POST" });
      if (data.status) accept(data.status, action);
      if (action === "run") toast("Run started.", "success");
    } catch (error) {
      toast(error.message, "error", error.data && error.data.fix);
    }
  }

  // The running screen's Pause/Resume and Cancel buttons; `currentRun()` is the run shown now.
  function bindControls(currentRun, accept) {
    $("pause-resume").addEventListener("click", () => control(isPaused(currentRun()) ? "resume" : "pause", accept));
    $("cancel-run").addEventListener("click", () => {
      if (confirm("Cancel the running prefetch? Work done so far is kept.")) control("cancel", accept);
    });
  }

  window.ProgressView = { View, etaText, control, bindControls };
})();
