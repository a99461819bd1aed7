// Hidden debug panel: long-press (~1 s) the ⚡ in the title to toggle. Timestamped client log of API
// calls, socket events and screen state (app.js and the pages call window.debugLog), copy-all button.
(function () {
  "use strict";
  const KEY = "debug-panel";
  const MAX = 200;
  const started = performance.now();
  const lines = [];
  let panel = null, list = null;

  window.debugLog = function (text) {
    const line = `${new Date().toISOString()} +${((performance.now() - started) / 1000).toFixed(2)}s ${text}`;
    lines.push(line);
    if (lines.length > MAX) lines.shift();
    if (list) {
      list.textContent = lines.join("\n");
      list.scrollTop = list.scrollHeight;
    }
  };

  window.debugLog.lines = lines;  // read by tests and by "copy all"

  function build() {
    const { el, toast } = window.App;
    list = el("pre", { class: "debug-log", id: "debug-log" });
    const copy = el("button", { type: "button", id: "debug-copy", onclick: async () => {
      const text = lines.join("\n");
      try { await navigator.clipboard.writeText(text); }
      catch (e) {  // no clipboard API (plain HTTP on a phone): textarea fallback
        const area = el("textarea", {}, text);
        document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
      }
      toast("Debug log copied.", "success");
    } }, "Copy all");
    const clear = el("button", { type: "button", onclick: () => { lines.length = 0; list.textContent = ""; } }, "Clear");
    const close = el("button", { type: "button", onclick: () => setVisible(false) }, "Close");
    panel = el("section", { class: "debug-panel", id: "debug-panel", "aria-label": "Debug log" },
      el("div", { class: "row" }, el("strong", {}, "Debug log"), el("span", { class: "spacer" }), copy, clear, close), list);
    document.body.append(panel);
    list.textContent = lines.join("\n");
  }

  function setVisible(visible) {
    if (visible && !panel) build();
    if (panel) panel.hidden = !visible;
    localStorage.setItem(KEY, visible ? "on" : "off");
    window.debugLog(`debug panel ${visible ? "shown" : "hidden"} on ${location.pathname}`);
  }

  const bolt = document.getElementById("debug-bolt");
  if (bolt) {
    let timer = null;
    let fired = false;  // the bolt sits in the home link: a long-press must not also navigate
    const start = (event) => {
      if (event.type === "mousedown" && event.button !== 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fired = true;
        if (navigator.vibrate) navigator.vibrate(50);
        setVisible(!(panel && !panel.hidden));
      }, 1000);
    };
    const cancel = () => { clearTimeout(timer); timer = null; };
    bolt.addEventListener("mousedown", start);
    bolt.addEventListener("touchstart", start, { passive: true });
    for (const name of ["mouseup", "mouseleave", "touchend", "touchcancel"]) bolt.addEventListener(name, cancel);
    bolt.addEventListener("click", (event) => { if (fired) { event.preventDefault(); fired = false; } });
    bolt.addEventListener("contextmenu", (event) => event.preventDefault());
  }
  window.debugLog(`page ${location.pathname} loaded`);
  if (localStorage.getItem(KEY) === "on") setVisible(true);
})();
