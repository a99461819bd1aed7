// Shared by every page: theme toggle, menu toggle, a small fetch helper that sends the CSRF token,
// toasts, and the one format for dates and durations (prefetch/templatetags/display.py writes the same).
(function () {
  "use strict";
  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    document.dispatchEvent(new Event("themechange"));
  }
  const toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const next = document.documentElement.dataset.theme === "light" ? "dark" : "light";
      localStorage.setItem("theme", next);  // picked: the OS setting no longer applies
      applyTheme(next);
    });
  }
  // Until the user picks, the page follows the OS setting, also when it changes (e.g. at dusk).
  matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => {
    if (!localStorage.getItem("theme")) applyTheme(window.systemTheme());
  });
  const navToggle = document.getElementById("nav-toggle");
  if (navToggle) {
    navToggle.addEventListener("click", () => {
      navToggle.setAttribute("aria-expanded", String(document.body.classList.toggle("nav-open")));
    });
  }

  // Dates in the server's zone (named on <html data-zone>), as `2026-11-29 14:57 Europe/Berlin`.
  const zone = document.documentElement.dataset.zone || "UTC";
  const dateParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  function fmtDate(iso) {
    if (!iso) return "–";
    const p = Object.fromEntries(dateParts.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${zone}`;
  }
  // `47s`, `3m 5s`, `1h 2m 3s`.
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // api("/api/job/run", {method: "POST", body: {...}}) -> parsed JSON; throws Error(message) on failure.
  async function api(url, options = {}) {
    const init = { method: options.method || "GET", headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (init.method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(url, init);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (window.debugLog) window.debugLog(`API ${init.method} ${url} -> ${response.status}`);
    if (!response.ok) {
      const error = new Error((data && data.error) || `HTTP ${response.status}`);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  // Text is always inserted with textContent: names from addon manifests are untrusted.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // link: {href, label} for a refusal the user can put right on another page.
  function toast(message, kind = "info", link = null) {
    let box = document.querySelector(".messages");
    if (!box) {
      box = el("div", { class: "messages" });
      document.querySelector("main").prepend(box);
    }
    const node = el("div", { class: `toast toast-${kind}`, role: "status" }, message,
      link ? [" ", el("a", { href: link.href }, link.label)] : null);
    box.append(node);
    setTimeout(() => node.remove(), link ? 15000 : kind === "error" ? 8000 : 4000);
  }

  // A theme colour by its CSS variable name ("ok", "bad", "info", ...): charts follow the theme.
  function themeColor(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
  }
  // Draws a chart with the theme's colours now and again whenever the theme changes.
  function themedChart(draw) {
    let chart = null;
    const paint = () => {
      if (!window.Chart) return;
      Chart.defaults.color = themeColor("muted");
      Chart.defaults.borderColor = themeColor("border");
      if (chart) chart.destroy();
      chart = draw(themeColor);
    };
    paint();
    document.addEventListener("themechange", paint);
  }
  // "Popular (movie)", but "Peer Mixed (movie+series+other)" as it is: its name already says the type.
  function catalogLabel(name, type) {
    return String(name).toLowerCase().includes(String(type).toLowerCase()) ? name : `${name} (${type})`;
  }

  // plural(1, "page") -> "1 page"; plural(3, "series", "series") -> "3 series".
  function plural(n, one, many = `${one}s`) { return `${n} ${n === 1 ? one : many}`; }

  window.App = { api, el, toast, csrfToken, fmtDate, fmtDuration, plural, themeColor, themedChart, catalogLabel };
})();
