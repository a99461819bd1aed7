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
  form.addEventListener("submit", () => form.querySelectorAll(":disabled").forEach((input) => { input.disabled = false; }));

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
