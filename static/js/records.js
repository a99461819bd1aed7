// Records page: invalidate one record, the current filter selection, or everything (with confirmation).
(function () {
  "use strict";
  const { api, toast } = window.App;
  const form = document.getElementById("records-filter");

  async function invalidate(body, question) {
    if (!confirm(question)) return;
    try {
      const data = await api("/api/records/invalidate", { method: "POST", body });
      toast(`${data.invalidated} record(s) invalidated.`, "success");
      setTimeout(() => location.reload(), 400);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  document.querySelectorAll(".invalidate-one").forEach((button) => {
    button.addEventListener("click", () => invalidate({ ids: [Number(button.dataset.id)] }, "Invalidate this record? The next run requests it again."));
  });
  const filtered = document.getElementById("invalidate-filter");
  if (filtered) {
    filtered.addEventListener("click", () => {
      const q = form.elements.q.value.trim(), status = form.elements.status.value;
      const run = form.elements.run ? Number(form.elements.run.value) : null;
      const body = q || status || run ? { filter: { q, status, ...(run ? { run } : {}) } } : { all: true };
      invalidate(body, q || status || run ? "Invalidate every record matching this search?" : "Invalidate ALL records? The next run requests everything again.");
    });
  }
  const all = document.getElementById("invalidate-all");
  if (all) all.addEventListener("click", () => invalidate({ all: true }, "Invalidate ALL records? The next run requests everything again."));
})();
