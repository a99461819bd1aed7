// Schedules page: the kind's fields (a time with days, or an interval), day pickers' all/none,
// confirmations, and the browser-vs-server time zone banner.
(function () {
  "use strict";
  document.querySelectorAll("form").forEach((form) => {
    const kinds = form.querySelectorAll("input[name=kind]");
    if (!kinds.length) return;
    const show = () => {
      const kind = form.querySelector("input[name=kind]:checked")?.value;
      form.querySelectorAll("[data-kind]").forEach((field) => { field.hidden = field.dataset.kind !== kind; });
    };
    kinds.forEach((input) => input.addEventListener("change", show));
    show();
  });
  document.querySelectorAll("[data-days]").forEach((button) => button.addEventListener("click", () => {
    const box = button.closest("fieldset");
    box.querySelectorAll("input[type=checkbox]").forEach((input) => { input.checked = button.dataset.days === "all"; });
  }));
  document.querySelectorAll("form[data-confirm]").forEach((form) => form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  }));
  const banner = document.getElementById("tz-banner");
  if (banner) {
    let browser = "";
    try { browser = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { browser = ""; }
    const server = banner.dataset.serverTz || "";
    const same = browser.toLowerCase() === server.toLowerCase() ||
      (["utc", "etc/utc", "gmt", "etc/gmt"].includes(browser.toLowerCase()) && ["utc", "etc/utc", "gmt", "etc/gmt"].includes(server.toLowerCase()));
    if (browser && !same) {
      document.getElementById("tz-browser").textContent = browser;
      banner.hidden = false;
    }
  }
})();
