// Settings page: "unlimited" boxes grey out their number, token show/copy, the reset dialog.
(function () {
  "use strict";
  document.querySelectorAll("[data-amount]").forEach((box) => {
    const check = box.querySelector(".amount-unlimited");
    if (!check) return;
    const sync = () => box.querySelectorAll("input[type=number], select").forEach((input) => { input.disabled = check.checked; });
    check.addEventListener("change", sync);
    sync();
  });
  // Disabled inputs are not submitted; enable them just before submitting so values are kept.
  const form = document.getElementById("settings-form");
  form.addEventListener("submit", (event) => {
    if (form.dataset.locked === "true") { event.preventDefault(); return; }
    form.querySelectorAll(".settings-fields :disabled").forEach((input) => { input.disabled = false; });
  });

  // The error summary leads to its fields; on load the first invalid field has the focus.
  const summary = document.getElementById("form-errors");
  if (summary) {
    const focusField = (name) => {
      const input = document.querySelector(`#field-${name} input:not([type=hidden]), #field-${name} select, #field-${name} textarea`);
      if (input) { input.scrollIntoView({ block: "center" }); input.focus(); }
      return !!input;
    };
    summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-field]");
      if (link && focusField(link.dataset.field)) event.preventDefault();
    });
    const first = summary.querySelector("a[data-field]");
    if (!first || !focusField(first.dataset.field)) summary.focus();
  }

  // Locked while a run is active, also when one starts or ends with the page open.
  const fields = document.getElementById("settings-fields");
  const lock = document.getElementById("settings-lock");
  async function checkLock() {
    let run;
    try { run = (await App.api("/api/job/status")).status; } catch (error) { return; }
    const locked = !!run.active;
    if (locked === (form.dataset.locked === "true") && (!locked || lock.dataset.run === String(run.id))) return;
    form.dataset.locked = String(locked);
    lock.dataset.run = locked ? String(run.id) : "";
    fields.disabled = locked;
    document.getElementById("save-settings").disabled = locked;
    lock.hidden = !locked;
    document.getElementById("settings-lock-text").textContent = locked ? `Run #${run.id} is ${run.status}` : "";
  }
  setInterval(checkLock, 3000);

  const toggle = document.querySelector("#field-cache_requests_enabled input[type=checkbox]");
  if (toggle) {
    const group = toggle.closest(".settings-group");
    const sync = () => group.classList.toggle("is-off", !toggle.checked);
    toggle.addEventListener("change", sync);
    sync();
  }

  const token = document.getElementById("token-value");
  document.getElementById("token-show").addEventListener("click", (event) => {
    const hidden = token.type === "password";
    token.type = hidden ? "text" : "password";
    event.target.textContent = hidden ? "Hide" : "Show";
  });
  document.getElementById("token-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(token.value); App.toast("Token copied.", "success"); }
    catch (e) { token.type = "text"; token.select(); App.toast("Select and copy the token.", "info"); }
  });
  document.querySelectorAll("form[data-confirm]").forEach((f) => f.addEventListener("submit", (event) => {
    if (!window.confirm(f.dataset.confirm)) event.preventDefault();
  }));

  const dialog = document.getElementById("reset-dialog");
  const confirmInput = document.getElementById("reset-confirm");
  const submit = document.getElementById("reset-submit");
  document.getElementById("reset-open").addEventListener("click", () => { confirmInput.value = ""; submit.disabled = true; dialog.showModal(); confirmInput.focus(); });
  document.getElementById("reset-cancel").addEventListener("click", () => dialog.close());
  confirmInput.addEventListener("input", () => { submit.disabled = confirmInput.value.trim().toLowerCase() !== "reset"; });
})();
