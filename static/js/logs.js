// Log viewer: the page lists the files (newest first, paged by the server); a file opens here with
// paging / tail / search, download, delete one or all (the list is then loaded again, the result said
// after the reload).
(function () {
  "use strict";
  const { api, toast, plural } = window.App;
  const $ = (id) => document.getElementById(id);
  const PAGE = 500;
  const FLASH = "logs-flash";
  const enc = encodeURIComponent;
  let open = null;   // {name, offset, total, q}

  // This page of the list with `file` open in the viewer (none: closed).
  function listUrl(file) {
    const url = new URL(location.href);
    if (file) url.searchParams.set("file", file); else url.searchParams.delete("file");
    return url;
  }

  function reloadList(message, url) {
    sessionStorage.setItem(FLASH, message);
    location.replace(url);
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
      history.replaceState(null, "", listUrl(name));
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
  $("log-close").addEventListener("click", () => { $("log-viewer").hidden = true; open = null; history.replaceState(null, "", listUrl(null)); });
  $("log-delete").addEventListener("click", async () => {
    if (!open || !confirm(`Delete ${open.name}?`)) return;
    try {
      await api(`/api/logs/${enc(open.name)}`, { method: "DELETE" });
      reloadList(`Deleted ${open.name}.`, listUrl(null));
    } catch (error) { toast(error.message, "error"); }
  });
  $("delete-all-logs").addEventListener("click", async () => {
    if (!confirm("Delete ALL log files?")) return;
    try {
      const data = await api("/api/logs", { method: "DELETE" });
      reloadList(`${plural(data.deleted, "log file")} deleted.`, location.pathname);
    } catch (error) { toast(error.message, "error"); }
  });
  $("log-list").addEventListener("click", (event) => {
    const link = event.target.closest("a.log-open");
    if (!link) return;
    event.preventDefault();
    view(link.closest("tr").dataset.file, { tail: true });
  });

  const flash = sessionStorage.getItem(FLASH);
  if (flash) { sessionStorage.removeItem(FLASH); toast(flash, "success"); }
  const requested = new URLSearchParams(location.search).get("file");
  if (requested) view(requested, { tail: true });
})();
