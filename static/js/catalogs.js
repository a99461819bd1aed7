// Catalogs page: render the saved selection (text only), load/merge, filter, enable, choose extras,
// drag to reorder. Every change is saved (debounced) through POST /api/catalogs/selection.
(function () {
  "use strict";
  const { api, el, toast, plural } = window.App;
  let catalogs = JSON.parse(document.getElementById("catalogs-data").textContent);
  const list = document.getElementById("catalog-list");
  const state = document.getElementById("save-state");
  const filters = { text: document.getElementById("filter-text"), type: document.getElementById("filter-type"), addon: document.getElementById("filter-addon") };
  const KIND_LABEL = { movie: "Movie", series: "Series", mixed: "Mixed" };
  let timer = null;

  function extrasControls(catalog) {
    const parts = [];
    for (const extra of catalog.extras || []) {
      if (extra.name === "skip" || extra.name === "search") continue;
      const options = extra.options || [];
      if (!options.length && !extra.isRequired) continue;
      const current = (catalog.extra_values || {})[extra.name] || "";
      let input;
      if (options.length) {
        input = el("select", { "data-extra": extra.name, "aria-label": `${extra.name} for ${catalog.name}` },
          el("option", { value: "" }, extra.isRequired ? `Choose ${extra.name}…` : `Any ${extra.name}`),
          options.map((option) => el("option", { value: option, selected: option === current }, option)));
      } else {
        input = el("input", { "data-extra": extra.name, value: current, placeholder: extra.name, "aria-label": `${extra.name} for ${catalog.name}` });
      }
      parts.push(el("label", { class: "extra" + (extra.isRequired && !current ? " needs-value" : "") }, el("span", {}, extra.name + (extra.isRequired ? " (required)" : "")), input));
    }
    return parts;
  }

  function row(catalog) {
    const kind = catalog.kind;
    const unmet = (catalog.unmet_extras || []).filter((name) => name !== "search");
    const item = el("li", { class: "catalog-row" + (catalog.missing ? " is-missing" : "") + (catalog.enabled ? "" : " is-off"), dataset: { id: catalog.id } },
      el("button", { type: "button", class: "drag-handle", title: "Drag to reorder, or focus and press ↑ / ↓", "aria-label": `Move ${catalog.name} (↑ / ↓)` }, "⋮⋮"),
      el("input", { type: "checkbox", class: "catalog-enabled", checked: catalog.enabled, disabled: catalog.search_only, "aria-label": `Enable ${catalog.name}` }),
      el("div", { class: "catalog-main" },
        el("div", { class: "catalog-name" }, catalog.name,
          el("span", { class: `badge ${kind}`, title: `type: ${catalog.type}` }, KIND_LABEL[kind] || kind),
          catalog.missing ? el("span", { class: "badge bad", title: "No longer in the addon's manifest; it is not prefetched" }, "missing") : null,
          catalog.search_only ? el("span", { class: "badge", title: "Needs a search term: never prefetched" }, "search only") : null,
          unmet.length && catalog.enabled ? el("span", { class: "badge warn" }, `choose ${unmet.join(", ")}`) : null),
        el("div", { class: "small muted" }, catalog.addon_name, " · ", el("code", {}, `${catalog.type}/${catalog.catalog_id}`))),
      el("div", { class: "catalog-extras" }, extrasControls(catalog)));
    item._catalog = catalog;
    return item;
  }

  function visible(catalog) {
    const text = filters.text.value.trim().toLowerCase();
    if (text && !catalog.name.toLowerCase().includes(text) && !catalog.catalog_id.toLowerCase().includes(text)) return false;
    if (filters.type.value && catalog.kind !== filters.type.value) return false;
    if (filters.addon.value && String(catalog.addon_id) !== filters.addon.value) return false;
    return true;
  }

  function render() {
    const addonsSeen = new Map(catalogs.map((c) => [String(c.addon_id), c.addon_name]));
    const chosen = filters.addon.value;
    filters.addon.replaceChildren(el("option", { value: "" }, "All addons"),
      Array.from(addonsSeen).map(([id, name]) => el("option", { value: id, selected: id === chosen }, name)));
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".catalog-row");
    list.replaceChildren(...catalogs.filter(visible).map(row));
    if (focused) {  // keep keyboard users where they were across re-renders (e.g. after a save)
      const handle = list.querySelector(`.catalog-row[data-id="${focused.dataset.id}"] .drag-handle`);
      if (handle) handle.focus();
    }
    document.getElementById("catalogs-empty").hidden = catalogs.length > 0;
    const enabled = catalogs.filter((c) => c.enabled && !c.missing).length;
    document.getElementById("catalog-count").textContent = `${enabled} of ${catalogs.length} selected.`;
  }

  function scheduleSave() {
    state.textContent = "Unsaved changes…";
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  }

  async function save() {
    state.textContent = "Saving…";
    const body = { catalogs: catalogs.map((c) => ({ id: c.id, enabled: c.enabled, extra_values: c.extra_values || {} })) };
    try {
      const data = await api("/api/catalogs/selection", { method: "POST", body });
      catalogs = data.catalogs;
      render();
      state.textContent = data.note ? `Saved. ${data.note}` : "Saved";
    } catch (error) {
      state.textContent = "Not saved";
      toast(error.message, "error");
    }
  }

  list.addEventListener("change", (event) => {
    const item = event.target.closest(".catalog-row");
    if (!item) return;  // SortableJS fires a change event of its own on the list after a drag
    const catalog = item._catalog;
    if (event.target.classList.contains("catalog-enabled")) catalog.enabled = event.target.checked;
    else if (event.target.dataset.extra) {
      catalog.extra_values = Object.assign({}, catalog.extra_values, { [event.target.dataset.extra]: event.target.value });
      if (event.target.value && (catalog.unmet_extras || []).length) catalog.enabled = true;
    }
    scheduleSave();
  });

  function selectShown(value) {
    catalogs.filter(visible).forEach((c) => { if (!c.search_only) c.enabled = value; });
    render();
    scheduleSave();
  }
  document.getElementById("select-all").addEventListener("click", () => selectShown(true));
  document.getElementById("select-none").addEventListener("click", () => selectShown(false));
  Object.values(filters).forEach((input) => input.addEventListener("input", render));

  const loadButton = document.getElementById("load-catalogs");
  loadButton.addEventListener("click", async () => {
    const button = loadButton;
    button.disabled = true;
    button.textContent = "Loading…";
    const errors = document.getElementById("load-errors");
    errors.replaceChildren();
    try {
      const data = await api("/api/catalogs/load", { method: "POST" });
      catalogs = data.catalogs;
      render();
      for (const failure of data.errors) {
        errors.append(el("div", { class: "banner banner-bad", role: "alert" }, `${failure.addon_name}: ${failure.error}`));
      }
      const notes = [`${plural(data.total_catalogs, "catalog")} from ${plural(data.total_addons, "addon")}`];
      if (data.added) notes.push(`${data.added} new`);
      if (data.missing) notes.push(`${data.missing} no longer offered`);
      toast(notes.join(", ") + ".", data.errors.length ? "warning" : "success");
      state.textContent = data.note ? `Saved. ${data.note}` : "Saved";
    } catch (error) {
      toast(error.message, "error");
    } finally {
      button.disabled = false;
      button.textContent = "Reload catalogs";
    }
  });

  // Keyboard alternative to dragging: ↑ / ↓ on a focused handle swaps with the neighbour shown.
  list.addEventListener("keydown", (event) => {
    if (!event.target.classList.contains("drag-handle") || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    const shown = catalogs.filter(visible);
    const catalog = event.target.closest(".catalog-row")._catalog;
    const neighbour = shown[shown.indexOf(catalog) + (event.key === "ArrowUp" ? -1 : 1)];
    if (!neighbour) return;
    const from = catalogs.indexOf(catalog);
    const to = catalogs.indexOf(neighbour);
    [catalogs[from], catalogs[to]] = [catalogs[to], catalogs[from]];
    render();
    scheduleSave();
  });

  Sortable.create(list, {
    handle: ".drag-handle", animation: 150, forceFallback: true, fallbackTolerance: 3,
    onEnd: (event) => {
      if (event.oldIndex === event.newIndex) return;
      // Move within the full list: the dragged row goes just before / after its new neighbour.
      const shown = Array.from(list.children).map((li) => Number(li.dataset.id));
      const moved = Number(event.item.dataset.id);
      const rest = catalogs.filter((c) => c.id !== moved);
      const draggedCatalog = catalogs.find((c) => c.id === moved);
      const position = shown.indexOf(moved);
      const after = position > 0 ? shown[position - 1] : null;
      const index = after === null ? rest.findIndex((c) => c.id === shown[1]) : rest.findIndex((c) => c.id === after) + 1;
      rest.splice(index < 0 ? rest.length : index, 0, draggedCatalog);
      catalogs = rest;
      render();
      scheduleSave();
    },
  });
  render();
  // A catalog addon was added since the last load: its catalogs are loaded without a click.
  if ("loadAtOnce" in loadButton.dataset && !loadButton.disabled) loadButton.click();
})();
