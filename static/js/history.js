// History page: a chart of the last runs' durations (bars) and prefetched counts (lines).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("history-data").textContent);
  const canvas = document.getElementById("history-chart");
  if (!window.Chart || !data.length) {
    canvas.parentElement.replaceChildren(window.App.el("p", { class: "muted" }, "No finished runs to chart yet."));
    return;
  }
  const colors = { completed: "#4ade80", completed_with_failures: "#fbbf24", failed: "#f87171", aborted: "#f87171", cancelled: "#fbbf24" };
  new Chart(canvas, {
    data: {
      labels: data.map((r) => `#${r.id}`),
      datasets: [
        { type: "bar", label: "Duration (min)", yAxisID: "y", data: data.map((r) => (r.duration_s ? r.duration_s / 60 : 0)),
          backgroundColor: data.map((r) => colors[r.status] || "#60a5fa") },
        { type: "line", label: "Movies", yAxisID: "y1", data: data.map((r) => r.movies), borderColor: "#60a5fa", tension: 0.2 },
        { type: "line", label: "Series", yAxisID: "y1", data: data.map((r) => r.series), borderColor: "#c084fc", tension: 0.2 },
        { type: "line", label: "Episodes", yAxisID: "y1", data: data.map((r) => r.episodes), borderColor: "#4ade80", tension: 0.2 },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      onClick: (event, elements) => { if (elements.length) location.href = `/runs/${data[elements[0].index].id}/`; },
      scales: {
        y: { beginAtZero: true, title: { display: true, text: "minutes" } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "items" } },
      },
    },
  });
})();
