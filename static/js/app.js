// Shared by every page: theme toggle and a small fetch helper that sends the CSRF token.
(function () {
  "use strict";
  const toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const next = document.documentElement.dataset.theme === "light" ? "dark" : "light";
      document.documentElement.dataset.theme = next;
      localStorage.setItem("theme", next);
    });
  }
  const navToggle = document.getElementById("nav-toggle");
  if (navToggle) navToggle.addEventListener("click", () => document.body.classList.toggle("nav-open"));

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

  function toast(message, kind = "info") {
    let box = document.querySelector(".messages");
    if (!box) {
      box = el("div", { class: "messages" });
      document.querySelector("main").prepend(box);
    }
    const node = el("div", { class: `toast toast-${kind}`, role: "status" }, message);
    box.append(node);
    setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
  }

  window.App = { api, el, toast, csrfToken };
})();
