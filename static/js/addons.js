// Addons page: render the three groups from JSON (text only), add / edit / delete / refresh / reveal,
// drag between groups (role) and within a group (order) with SortableJS.
(function () {
  "use strict";
  const { api, el, toast } = window.App;
  let addons = JSON.parse(document.getElementById("addons-data").textContent);
  const lists = Array.from(document.querySelectorAll(".addon-list"));

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
        el("div", { class: "addon-name" }, addon.name || "(unnamed)", addon.version ? el("span", { class: "muted small" }, " v" + addon.version) : null),
        urlText,
        el("div", { class: "small muted" }, (addon.types || []).join(", "), addon.catalogs ? ` · ${addon.catalogs} catalog(s)` : "")),
      el("div", { class: "addon-actions" },
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

  document.getElementById("add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = document.getElementById("add-submit");
    button.disabled = true;
    button.textContent = "Checking…";
    showAddError("");
    try {
      const data = await api("/api/addons", { method: "POST", body: { url: form.url.value, type: form.type.value } });
      addons.push(data.addon);
      render();
      form.url.value = "";
      toast(`Added ${data.addon.name}.`, "success");
      if (data.warning) toast(data.warning, "warning");
    } catch (error) {
      showAddError(error.message.replace(/^url: /, ""));
    } finally {
      button.disabled = false;
      button.textContent = "Add addon";
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
        toast(`Refreshed ${data.addon.name}.`, "success");
      } else if (action === "delete") {
        if (!window.confirm(`Delete ${addon.name}? Its catalog choices are removed too.`)) return;
        await api(`/api/addons/${addon.id}`, { method: "DELETE" });
        addons = addons.filter((a) => a.id !== addon.id);
        render();
        toast(`Deleted ${addon.name}.`, "success");
      } else if (action === "edit") {
        const form = document.getElementById("edit-template").content.firstElementChild.cloneNode(true);
        const error = el("p", { class: "field-error error", role: "alert", hidden: true });
        item.querySelector(".addon-main").append(form, error);
        button.disabled = true;
        form.url.focus();
        form.querySelector("[data-cancel]").addEventListener("click", () => render());
        form.addEventListener("submit", async (submitEvent) => {
          submitEvent.preventDefault();
          try {
            const data = await api(`/api/addons/${addon.id}`, { method: "PATCH", body: { url: form.url.value } });
            replace(data.addon);
            toast(`Saved ${data.addon.name}.`, "success");
          } catch (failure) {
            error.textContent = failure.message.replace(/^url: /, "");
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

  for (const list of lists) {
    Sortable.create(list, { group: "addons", handle: ".addon-row", animation: 150, forceFallback: true, fallbackTolerance: 3, filter: "button, input", preventOnFilter: false, onEnd: saveOrder });
  }
  render();
})();
