// History page: the last runs' durations (bars, one colour per status, as in the legend) and
// prefetched counts (lines, drawn above the bars), in the theme's colours.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("history-data").textContent);
  const canvas = document.getElementById("history-chart");
  if (!window.Chart || !data.length) {
    canvas.parentElement.replaceChildren(window.App.el("p", { class: "muted" }, "No finished runs to chart yet."));
    return;
  }
  // Status -> theme colour, as the status texts and badges use them.
  const STATUSES = [["completed", "ok"], ["completed_with_failures", "warn"], ["failed", "bad"], ["aborted", "bad"],
    ["cancelled", "muted"]];
  const minutes = (r) => (r.duration_s ? r.duration_s / 60 : 0);
  window.App.themedChart((color) => {
    const shown = STATUSES.filter(([status]) => data.some((r) => r.status === status));
    const bars = shown.map(([status, variable]) => ({
      type: "bar", label: `Duration, ${status.replaceAll("_", " ")} (min)`, yAxisID: "y", stack: "duration", order: 2,
      data: data.map((r) => (r.status === status ? minutes(r) : null)), backgroundColor: color(variable),
    }));
    const line = (label, key, variable, dash) => ({
      type: "line", label, yAxisID: "y1", order: 1, data: data.map((r) => r[key]), tension: 0.2,
      borderColor: color(variable), backgroundColor: color(variable), borderDash: dash, pointRadius: 3, borderWidth: 2,
    });
    return new Chart(canvas, {
      data: {
        labels: data.map((r) => `#${r.id}`),
        datasets: [...bars, line("Movies", "movies", "info", []), line("Series", "series", "accent", []),
          line("Episodes", "episodes", "text", [6, 4])],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        onClick: (event, elements) => { if (elements.length) location.href = `/runs/${data[elements[0].index].id}/`; },
        scales: {
          x: { stacked: true },
          y: { beginAtZero: true, stacked: true, title: { display: true, text: "minutes" } },
          y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "items" } },
        },
      },
    });
  });
})();
