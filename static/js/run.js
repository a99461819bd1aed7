// Completion statistics of one run: timing, summary cards, rates, catalog timeline, tables.
// Shared by the run page and the dashboard's completion screen. Untrusted text via textContent only.
(function () {
  "use strict";
  const { el, fmtDate, fmtDuration, themedChart, catalogLabel } = window.App;
  // kind "bad": a failure count that is not zero.
  function stat(label, value, extra, kind) {
    return el("div", { class: kind ? `stat stat-${kind}` : "stat" }, el("div", { class: "value" }, String(value)),
      el("div", { class: "label" }, label), extra ? el("div", { class: "label" }, extra) : null);
  }
  // Why items were not prefetched (engine Reason, prefetch/engine/outcome.py), in the order they are shown.
  // A run counts each as `items_<reason>`; a catalog as `<reason>`, but `items_not_reached` (its own
  // `not_reached` says whether the catalog itself was reached).
  const REASONS = [["unsupported", "unsupported"], ["no_meta", "no meta"], ["excluded", "excluded"],
    ["own_streams", "with their own streams"], ["duplicates", "duplicates"], ["not_reached", "not reached (stopped)"],
    ["failed", "failed"]];
  const catalogCount = (c, key) => (key === "not_reached" ? c.items_not_reached : c[key]) || 0;

  function reasonsCell(c) {
    const parts = REASONS.filter(([key]) => catalogCount(c, key)).map(([key, label]) =>
      el("span", { title: ((c.samples || {})[key] || []).join(", "), "data-reason": key }, `${catalogCount(c, key)} ${label}`));
    return parts.length ? parts.flatMap((part, i) => (i ? [" · ", part] : [part])) : ["–"];
  }

  // The line under a stream request count, live and in the report: how the requests were answered.
  // A 404 is an empty answer (the addon has nothing for the title), not a failure: shown when it happened.
  function streamRequestsText(stats) {
    return [`${stats.stream_requests_ok || 0} ok`,
      stats.stream_requests_not_found ? `${stats.stream_requests_not_found} not found (404)` : "",
      `${stats.stream_requests_failed || 0} failed after retries`,
      `${stats.stream_requests_retried_ok || 0} ok after a retry`,
      stats.stream_requests_skipped ? `${stats.stream_requests_skipped} not made (addon given up)` : "",
    ].filter(Boolean).join(" · ");
  }

  function timelineChart(canvas, run) {
    if (!window.Chart) return null;
    const start = run.start_time ? Date.parse(run.start_time) : null;
    const rows = (run.catalogs || []).filter((c) => c.started_at && c.finished_at && !c.skipped);
    if (!start || !rows.length) return null;
    const labels = rows.map((c) => catalogLabel(c.name, c.type));
    const data = rows.map((c) => [Math.max(0, (Date.parse(c.started_at) - start) / 1000), Math.max(0, (Date.parse(c.finished_at) - start) / 1000)]);
    canvas.parentElement.style.height = `${Math.max(140, 28 * rows.length + 60)}px`;
    // The kinds' colours of the type badges (movie info, series ok, mixed warn), from the theme.
    themedChart((color) => new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label: "Catalog", data, borderSkipped: false, borderRadius: 3,
        backgroundColor: rows.map((c) => color(c.kind === "series" ? "ok" : c.kind === "mixed" ? "warn" : "info")) }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (ctx) => {
            const [a, b] = ctx.raw; const c = rows[ctx.dataIndex];
            return `${fmtDuration(a)} → ${fmtDuration(b)} (${fmtDuration(b - a)}), ${c.prefetched} prefetched`;
          } } },
        },
        scales: {
          x: { type: "linear", min: 0, title: { display: true, text: "seconds since start" } },
          // A phone keeps the bars readable: long names are shortened (the tooltip has them whole).
          y: { ticks: { autoSkip: false, callback(value) {
            const label = this.getLabelForValue(value);
            return canvas.clientWidth < 500 && label.length > 22 ? `${label.slice(0, 21)}…` : label;
          } } },
        },
      },
    }));
  }

  // The page around it names the run and its status once (run page title, dashboard heading).
  function render(container, run, options = {}) {
    container.replaceChildren();
    const stats = run.statistics || {};
    const duration = run.duration_s;
    const minutes = duration ? duration / 60 : 0;
    const perMin = (n) => (minutes ? (n / minutes).toFixed(1) : "–");
    // A walk that reached its end needs no "stopped" line; limits, cancel and errors do.
    if (run.stop_reason && !["completed", run.status].includes(run.stop_reason)) {
      container.append(el("p", { class: "muted" }, `Stopped: ${run.stop_reason}`));
    }
    if (run.error) container.append(el("pre", { class: "run-error", id: "run-error" }, run.error));
    const failures = (stats.items_failed || 0) + (stats.stream_requests_failed || 0) + (stats.stream_requests_skipped || 0);
    if (failures && run.failed_records_url) {
      container.append(el("p", { id: "failed-records" }, el("a", { href: run.failed_records_url }, "Failed records of this run")));
    }

    container.append(el("div", { class: "grid timing" },
      stat("Started", fmtDate(run.start_time)), stat("Finished", fmtDate(run.end_time)),
      stat("Duration", fmtDuration(duration), run.paused_s ? `+ ${fmtDuration(run.paused_s)} paused` : "active time")));

    const cacheExtra = stats.cache_requests_sent ? `✓ ${stats.cache_requests_ok || 0} ok` : null;
    const byType = stats.prefetched_by_type || {};
    const otherTypes = Object.keys(byType).filter((t) => t !== "movie" && t !== "series");
    const notPrefetched = REASONS.filter(([key]) => key !== "failed" && stats[`items_${key}`])
      .map(([key, label]) => `${stats[`items_${key}`]} ${label}`).join(" · ");
    container.append(el("h3", {}, "Statistics"), el("div", { class: "grid stats", id: "summary-stats" },
      stat("Catalogs", `${(stats.catalogs_processed || 0)}`, [stats.catalogs_skipped ? `${stats.catalogs_skipped} skipped` : "",
        stats.catalogs_not_reached ? `${stats.catalogs_not_reached} not reached` : ""].filter(Boolean).join(" · ") || null),
      stat("Movies", stats.movies_prefetched || 0), stat("Series", stats.series_prefetched || 0),
      ...otherTypes.map((t) => stat(`Type ${t}`, byType[t])),
      stat("Episodes", stats.episodes_prefetched || 0), stat("Pages", stats.pages_fetched || 0),
      stat("Already prefetched", stats.already_prefetched || 0),
      stat("Items failed", stats.items_failed || 0, `${stats.videos_failed || 0} videos failed`),
      // Runs from before the count existed do not say: no tile rather than a 0 that may not be true.
      "catalogs_failed" in stats ? stat("Catalogs failed", stats.catalogs_failed,
        stats.catalogs_failed ? "a page errored: its reason is under Result" : null, stats.catalogs_failed ? "bad" : null) : null,
      stat("Not prefetched", REASONS.filter(([key]) => key !== "failed").reduce((n, [key]) => n + (stats[`items_${key}`] || 0), 0),
        notPrefetched || null),
      stat("Stream requests", stats.stream_requests || 0, streamRequestsText(stats)),
      stat("Success rate", stats.success_rate === null || stats.success_rate === undefined ? "–" : `${stats.success_rate}%`,
        "of the stream requests made"),
      stat("Cache requests", stats.cache_requests_sent || 0, cacheExtra)));

    container.append(el("h3", {}, "Rates per minute of active time"), el("div", { class: "grid stats" },
      stat("Movies / min", perMin(stats.movies_prefetched || 0)), stat("Episodes / min", perMin(stats.episodes_prefetched || 0)),
      stat("Items / min", perMin(stats.items_prefetched || 0)),
      stat("Stream requests / min", perMin(stats.stream_requests || 0))));

    const catalogs = run.catalogs || [];
    if (catalogs.length) {
      const canvas = el("canvas", { id: "timeline-chart", "aria-label": "Catalog timeline" });
      container.append(el("h3", {}, "Catalog timeline"), el("div", { class: "chart-box", id: "timeline" }, canvas));
      timelineChart(canvas, run);
      container.append(el("h3", {}, "Catalogs"), el("div", { class: "table-wrap" }, el("table", { id: "catalog-table" },
        el("thead", {}, el("tr", {}, ["Catalog", "Addon", "Type", "Duration", "Prefetched", "Already", "Failed", "Videos failed", "Requests failed", "Not prefetched", "Pages", "Cache reqs", "Result"].map((h) => el("th", {}, h)))),
        el("tbody", {}, catalogs.map((c) => el("tr", {},
          el("td", {}, c.name), el("td", {}, c.addon || ""), el("td", {}, el("span", { class: `badge ${c.kind}` }, c.type)),
          el("td", {}, c.skipped || c.not_reached ? "–" : fmtDuration(c.duration_s)), el("td", {}, c.prefetched), el("td", {}, c.already_prefetched),
          el("td", {}, c.failed), el("td", {}, c.videos_failed || 0),
          el("td", { title: `${c.stream_requests_retried_ok || 0} ok after a retry` }, c.stream_requests_failed || 0),
          el("td", { class: "reasons" }, ...reasonsCell(c)), el("td", {}, c.pages), el("td", {}, c.cache_requests_sent ? `${c.cache_requests_ok} / ${c.cache_requests_sent}` : "0"),
          c.error ? el("td", { class: "catalog-error" }, `failed: ${c.error}`) : el("td", { class: "muted" }, c.stop_reason || "")))))));
    }
    const addons = run.addons || [];
    if (addons.length) {
      container.append(el("h3", {}, "Addons"), el("div", { class: "table-wrap" }, el("table", { id: "addon-table" },
        el("thead", {}, el("tr", {}, ["Addon", "Requests", "OK", "Empty", "Failed", "Retried then OK", "Skipped", "In flight", "Latency p50", "p95", "Note"].map((h) => el("th", {}, h)))),
        el("tbody", {}, addons.map((a) => el("tr", {},
          el("td", { title: a.url || "" }, a.name), el("td", {}, a.requests), el("td", {}, a.ok), el("td", {}, a.empty),
          el("td", {}, a.failed), el("td", {}, a.retried_ok || 0), el("td", {}, a.skipped), el("td", {}, paceText(a)),
          el("td", {}, a.latency_ms_p50 === null ? "–" : `${a.latency_ms_p50} ms`), el("td", {}, a.latency_ms_p95 === null ? "–" : `${a.latency_ms_p95} ms`),
          el("td", { class: "muted" }, a.given_up ? a.message : "")))))));
    }
    const measured = run.verification_lines || [];
    if (measured.length) {
      container.append(el("h3", {}, "Measured effect"), el("ul", { id: "verification" }, measured.map((line) => el("li", {}, line))));
    }
    const tail = (run.progress && run.progress.log_tail) || [];
    if (options.full && tail.length) {
      container.append(el("h3", {}, "Last log lines"), el("pre", { class: "log-tail" }, tail.join("\n")));
    }
  }

  // The requests in flight allowed per addon: fixed, or the adaptive limit now (with its peak and ceiling).
  function paceText(a) {
    if (a.concurrency_limit === undefined) return "–";
    return a.pace === "adaptive" ? `${a.concurrency_limit} adaptive (peak ${a.concurrency_peak} of ${a.concurrency_ceiling})` : String(a.concurrency_limit);
  }

  window.RunView = { render, timelineChart, paceText, streamRequestsText };
})();
