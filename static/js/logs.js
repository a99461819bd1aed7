// Log viewer: list (newest first), view with paging / tail / search, download, delete one or all.
(function () {
  "use strict";
  const { api, el, toast } = window.App;
  const $ = (id) => document.getElementById(id);
  const PAGE = 500;
  let open = null;   // {name, offset, total, q}

  function size(bytes) {
    return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
  }
  const enc = encodeURIComponent;

  async function loadList() {
    const tbody = $("log-list").querySelector("tbody");
    try {
      const { logs } = await api("/api/logs");
      tbody.replaceChildren(...(logs.length ? logs.map((f) => el("tr", { dataset: { file: f.filename } },
        el("td", {}, el("a", { href: `?file=${enc(f.filename)}`, class: "mono", onclick: (e) => { e.preventDefault(); view(f.filename, { tail: true }); } }, f.filename)),
        el("td", {}, App.fmtDate(f.modified)), el("td", {}, size(f.size)),
        el("td", {}, el("a", { href: `/api/logs/${enc(f.filename)}?download=1` }, "Download"))))
        : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No log files."))]));
      $("delete-all-logs").disabled = !logs.length;
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function view(name, { offset = 0, tail = false, q = open && open.name === name ? open.q : "" } = {}) {
    const params = new URLSearchParams({ limit: PAGE });
    if (tail) params.set("tail", PAGE); else params.set("offset", offset);
    if (q) params.set("q", q);
    try {
      const data = await api(`/api/logs/${enc(name)}?${params}`);
      open = { name, offset: data.offset, total: data.total_lines, q };
      $("log-viewer").hidden = false;
      $("log-name").textContent = name;
      $("log-download").href = `/api/logs/${enc(name)}?download=1`;
      $("log-q").value = q;
      const width = String(data.total_lines ? data.lines[data.lines.length - 1].n : 0).length;
      $("log-content").textContent = data.lines.map((l) => `${String(l.n).padStart(width)}  ${l.text}`).join("\n") || (q ? "No line matches." : "(empty)");
      const first = data.lines.length ? data.offset + 1 : 0;
      $("log-range").textContent = `${q ? "matches " : "lines "}${first}–${data.offset + data.lines.length} of ${data.total_lines}`;
      $("log-prev").disabled = data.offset <= 0;
      $("log-next").disabled = data.offset + data.lines.length >= data.total_lines;
      history.replaceState(null, "", `?file=${enc(name)}`);
      if (tail) $("log-content").scrollTop = $("log-content").scrollHeight;
    } catch (error) {
      toast(error.message, "error");
    }
  }

  $("log-search").addEventListener("submit", (e) => { e.preventDefault(); if (open) { open.q = $("log-q").value.trim(); view(open.name, { q: open.q }); } });
  $("log-first").addEventListener("click", () => open && view(open.name, { offset: 0 }));
  $("log-prev").addEventListener("click", () => open && view(open.name, { offset: Math.max(0, open.offset - PAGE) }));
  $("log-next").addEventListener("click", () => open && view(open.name, { offset: open.offset + PAGE }));
  $("log-tail").addEventListener("click", () => open && view(open.name, { tail: true }));
  $("log-close").addEventListener("click", () => { $("log-viewer").hidden = true; open = null; history.replaceState(null, "", location.pathname); });
  $("log-delete").addEventListener("click", async () => {
    if (!open || !confirm(`Delete ${open.name}?`)) return;
    try {
      await api(`/api/logs/${enc(open.name)}`, { method: "DELETE" });
      toast("Log file deleted.", "success");
      $("log-viewer").hidden = true; open = null; loadList();
    } catch (error) { toast(error.message, "error"); }
  });
  $("delete-all-logs").addEventListener("click", async () => {
    if (!confirm("Delete ALL log files?")) return;
    try {
      const data = await api("/api/logs", { method: "DELETE" });
      toast(`${data.deleted} log file(s) deleted.`, "success");
      $("log-viewer").hidden = true; open = null; loadList();
    } catch (error) { toast(error.message, "error"); }
  });

  loadList();
  const requested = new URLSearchParams(location.search).get("file");
  if (requested) view(requested, { tail: true });
})();
