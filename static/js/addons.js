// Addons page: render the three groups from JSON (text only), preview then add, rename / edit /
// delete / refresh / reveal, drag between groups (role) and within a group (order) with SortableJS,
// check every addon's health now.
(function () {
  "use strict";
  const { api, el, toast, plural } = window.App;
  let addons = JSON.parse(document.getElementById("addons-data").textContent);
  const lists = Array.from(document.querySelectorAll(".addon-list"));
  const $ = (id) => document.getElementById(id);

  function logo(addon) {
    const fallback = el("span", { class: "addon-logo addon-logo-empty", "aria-hidden": "true" }, (addon.name || "?").slice(0, 1).toUpperCase());
    if (!addon.logo || !/^https?:\/\//i.test(addon.logo)) return fallback;
    const img = el("img", { class: "addon-logo", src: addon.logo, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.replaceWith(fallback));
    return img;
  }

  function row(addon) {
    const urlText = el("code", { class: "addon-url", title: "Redacted: secrets are masked" }, addon.url);
    const item = el("li", { class: "addon-row" + (addon.enabled ? "" : " is-disabled"), dataset: { id: addon.id } },
      el("span", { class: "drag-handle", title: "Drag to move", "aria-hidden": "true" }, "⋮⋮"),
      logo(addon),
      el("div", { class: "addon-main" },
        el("div", { class: "addon-name" }, addon.title || "(unnamed)", " ",
          el("code", { class: "fingerprint", title: "Fingerprint of this configuration (not secret)" }, addon.fingerprint),
          addon.version ? el("span", { class: "muted small" }, " v" + addon.version) : null),
        addon.display_name && addon.display_name !== addon.name ? el("div", { class: "small muted" }, `Manifest name: ${addon.name}`) : null,
        urlText,
        el("div", { class: "small muted" }, (addon.types || []).join(", "), addon.catalogs ? ` · ${plural(addon.catalogs, "catalog")}` : ""),
        addon.enabled ? window.AddonHealth.badge(addon.health) : null),
      el("div", { class: "addon-actions" },
        el("button", { type: "button", class: "small-button", "data-action": "rename", title: "Give this configuration a name of your own" }, "Rename"),
        el("button", { type: "button", class: "small-button", "data-action": "reveal", title: "Show the full URL" }, "Reveal"),
        el("button", { type: "button", class: "small-button", "data-action": "refresh", title: "Fetch the manifest again" }, "Refresh"),
        el("button", { type: "button", class: "small-button", "data-action": "edit" }, "Edit"),
        el("button", { type: "button", class: "small-button danger", "data-action": "delete" }, "Delete")));
    item._addon = addon;
    item._urlText = urlText;
    return item;
  }

  function render() {
    for (const list of lists) {
      list.replaceChildren(...addons.filter((a) => a.type === list.dataset.role).sort((a, b) => a.position - b.position).map(row));
      list.closest(".addon-group").classList.toggle("is-empty", !list.children.length);
    }
  }

  function showAddError(message) {
    const box = document.getElementById("add-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // Adding is two steps: Preview fetches the manifest without saving; Add saves what was previewed.
  const addForm = $("add-form");
  let previewed = null;  // the URL the preview box describes
  function clearPreview() {
    previewed = null;
    $("add-preview-box").hidden = true;
    $("add-submit").disabled = true;
  }
  addForm.url.addEventListener("input", clearPreview);
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("add-preview");
    button.disabled = true;
    button.textContent = "Checking…";
    showAddError("");
    clearPreview();
    try {
      const data = await api("/api/addon/manifest", { method: "POST", body: { url: addForm.url.value } });
      $("preview-name").textContent = data.name;
      $("preview-version").textContent = data.version ? `v${data.version}` : "";
      $("preview-fingerprint").textContent = data.fingerprint;
      $("preview-types").textContent = data.types.join(", ") || "–";
      $("preview-catalogs").textContent = String(data.catalogs);
      $("preview-resources").textContent = data.resources.join(", ") || "–";
      $("preview-duplicate").hidden = !data.duplicate;
      $("preview-duplicate").textContent = data.duplicate_message;
      $("add-preview-box").hidden = false;
      previewed = addForm.url.value;
      $("add-submit").disabled = data.duplicate;
      if (!data.duplicate) $("add-submit").focus();
    } catch (error) {
      showAddError(error.message.replace(/^url: /, ""));
    } finally {
      button.disabled = false;
      button.textContent = "Preview";
    }
  });
  $("add-submit").addEventListener("click", async () => {
    if (previewed !== addForm.url.value) return;
    const button = $("add-submit");
    button.disabled = true;
    try {
      const body = { url: addForm.url.value, type: addForm.type.value, display_name: addForm.display_name.value };
      const data = await api("/api/addons", { method: "POST", body });
      addons.push(data.addon);
      render();
      addForm.reset();
      clearPreview();
      toast(`Added ${data.addon.label}.`, "success");
      if (data.warning) toast(data.warning, "warning");
    } catch (error) {
      button.disabled = false;
      showAddError(error.message.replace(/^(url|display_name): /, ""));
    }
  });

  function replace(updated) {
    addons = addons.map((a) => (a.id === updated.id ? updated : a));
    render();
  }

  document.querySelector(".addon-groups").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const item = button.closest(".addon-row");
    const addon = item._addon;
    const action = button.dataset.action;
    try {
      if (action === "reveal") {
        if (button.textContent === "Hide") { item._urlText.textContent = addon.url; button.textContent = "Reveal"; return; }
        const data = await api(`/api/addons/${addon.id}/reveal`, { method: "POST" });
        item._urlText.textContent = data.url;
        button.textContent = "Hide";
      } else if (action === "refresh") {
        button.disabled = true;
        const data = await api(`/api/addons/${addon.id}/refresh`, { method: "POST" });
        replace(data.addon);
        toast(`Refreshed ${data.addon.label}.`, "success");
      } else if (action === "delete") {
        if (!window.confirm(`Delete ${addon.label}? Its catalog choices are removed too.`)) return;
        await api(`/api/addons/${addon.id}`, { method: "DELETE" });
        addons = addons.filter((a) => a.id !== addon.id);
        render();
        toast(`Deleted ${addon.label}.`, "success");
      } else if (action === "edit" || action === "rename") {
        // Rename edits the display name; Edit takes a new URL (checked like a new addon).
        const field = action === "rename" ? "display_name" : "url";
        const form = $(`${action}-template`).content.firstElementChild.cloneNode(true);
        const error = el("p", { class: "field-error error", role: "alert", hidden: true });
        item.querySelector(".addon-main").append(form, error);
        button.disabled = true;
        if (field === "display_name") form.display_name.value = addon.display_name || "";
        form.elements[field].focus();
        form.querySelector("[data-cancel]").addEventListener("click", () => render());
        form.addEventListener("submit", async (submitEvent) => {
          submitEvent.preventDefault();
          try {
            const data = await api(`/api/addons/${addon.id}`, { method: "PATCH", body: { [field]: form.elements[field].value } });
            replace(data.addon);
            toast(`Saved ${data.addon.label}.`, "success");
          } catch (failure) {
            error.textContent = failure.message.replace(/^(url|display_name): /, "");
            error.hidden = false;
          }
        });
      }
    } catch (error) {
      toast(error.message, "error");
      button.disabled = false;
    }
  });

  async function saveOrder() {
    const groups = {};
    for (const list of lists) groups[list.dataset.role] = Array.from(list.children).map((li) => Number(li.dataset.id));
    try {
      const data = await api("/api/addons/reorder", { method: "POST", body: { groups } });
      addons = data.addons;
      render();
      toast("Order saved.", "success");
    } catch (error) {
      toast(error.message, "error");
      render();
    }
  }

  $("check-health").addEventListener("click", (event) => {
    window.AddonHealth.check(event.currentTarget, (fresh) => { addons = fresh; render(); });
  });

  for (const list of lists) {
    Sortable.create(list, { group: "addons", handle: ".addon-row", animation: 150, forceFallback: true, fallbackTolerance: 3, filter: "button, input", preventOnFilter: false, onEnd: saveOrder });
  }
  render();
})();
