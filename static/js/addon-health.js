// Addon health on the Addons page and the dashboard: the badge, and "Check now", which has the
// server probe every enabled addon at once and hands the fresh health to the page to draw.
(function () {
  "use strict";
  const { api, el, toast, fmtDate } = window.App;

  // The same markup as templates/addons/_health_badge.html.
  function badge(health) {
    return el("span", { class: "addon-health", dataset: { health: health.status } },
      el("span", { class: `health health-${health.status}` }, health.label),
      health.message ? el("span", { class: "health-message" }, health.message) : null,
      health.checked_at ? el("span", { class: "muted small" }, `checked ${fmtDate(health.checked_at)}`) : null);
  }

  // One probe at a time, whichever button asks: the dashboard may redraw its card (and button) meanwhile.
  let checking = false;

  // `show(addons)`: draw the answer (every addon, each with its fresh `health`).
  async function check(button, show) {
    if (checking) return;
    checking = true;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Checking…";
    try {
      const data = await api("/api/addons/health/check", { method: "POST" });
      show(data.addons);
    } catch (error) {
      toast(`The health check failed: ${error.message}`, "error");
    } finally {
      checking = false;
      button.disabled = false;
      button.textContent = label;
    }
  }

  window.AddonHealth = { badge, check };
})();
