// Records page: invalidate one addon's record of a video (in place, saying what it did), the
// current filter selection, or everything (with confirmation; the result is said after the reload).
(function () {
  "use strict";
  const { api, toast, plural } = window.App;
  const form = document.getElementById("records-filter");
  const FLASH = "records-flash";

  const flash = sessionStorage.getItem(FLASH);
  if (flash) { sessionStorage.removeItem(FLASH); toast(flash, "success"); }

  async function invalidateAndReload(body, question) {
    if (!confirm(question)) return;
    try {
      const data = await api("/api/records/invalidate", { method: "POST", body });
      sessionStorage.setItem(FLASH, `${plural(data.invalidated, "record")} invalidated: the next run requests them again.`);
      location.reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  document.getElementById("records-table").addEventListener("click", async (event) => {
    const button = event.target.closest(".invalidate-one");
    if (!button) return;
    const chip = button.closest(".record-chip");
    const row = chip.closest("tr");
    const title = row.cells[0].textContent.trim() === "–" ? row.cells[2].textContent.trim() : row.cells[0].textContent.trim();
    const addon = chip.querySelector(".chip-addon").textContent.trim();
    button.disabled = true;
    try {
      const data = await api("/api/records/invalidate", { method: "POST", body: { ids: [Number(button.dataset.id)] } });
      if (!data.invalidated) throw new Error("That record was already gone.");
      chip.remove();
      if (!row.querySelector(".record-chip")) row.classList.add("is-invalidated");
      toast(`Invalidated ${title} for ${addon}: the next run requests it again.`, "success");
    } catch (error) {
      button.disabled = false;
      toast(error.message, "error");
    }
  });

  const filtered = document.getElementById("invalidate-filter");
  if (filtered) {
    filtered.addEventListener("click", () => {
      const q = form.elements.q.value.trim(), status = form.elements.status.value, addon = form.elements.addon.value;
      const run = form.elements.run ? Number(form.elements.run.value) : null;
      const any = q || status || addon || run;
      invalidateAndReload(any ? { filter: { q, status, addon, ...(run ? { run } : {}) } } : { all: true },
        any ? "Invalidate every record matching this search?" : "Invalidate ALL records? The next run requests everything again.");
    });
  }
  const all = document.getElementById("invalidate-all");
  if (all) all.addEventListener("click", () => invalidateAndReload({ all: true }, "Invalidate ALL records? The next run requests everything again."));
})();
