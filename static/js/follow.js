// Follow page: the viewers (add, rename, delete), then for the chosen viewer: copy the companion URL,
// a new secret, the Stremio sign-in, the Trakt device code (polled at the interval Trakt announced),
// sync; and warm now. Answers reload the page's state.
(function () {
  "use strict";
  const { api, toast } = window.App;
  const $ = (id) => document.getElementById(id);
  const viewerId = $("companion").dataset.viewerId;
  const mine = (path) => `${path}?viewer=${viewerId}`;  // an endpoint of the chosen viewer

  async function act(run, done) {
    try {
      const answer = await run();
      if (done) toast(done, "success");
      return answer;
    } catch (error) {
      toast(error.message, "error");
      return null;
    }
  }

  $("add-viewer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: event.target.name.value };
    const added = await act(() => api("/api/follow/viewers", { method: "POST", body }), `${body.name} added`);
    if (added) window.location.search = `?viewer=${added.id}`;
  });

  for (const row of document.querySelectorAll("#viewer-table tbody tr")) {
    const { viewerId: id, viewerName: name } = row.dataset;
    row.querySelector(".rename-viewer").addEventListener("click", async () => {
      const renamed = window.prompt(`New name for ${name}`, name);
      if (renamed === null || renamed === name) return;
      const body = { name: renamed };
      if (await act(() => api(`/api/follow/viewers/${id}`, { method: "PATCH", body }), "Renamed")) window.location.reload();
    });
    row.querySelector(".delete-viewer").addEventListener("click", async () => {
      if (!window.confirm(`Delete ${name}? Signed out of their Stremio and Trakt accounts; their companion URL, `
        + "what is kept warm for them and their plays are deleted.")) return;
      if (!await act(() => api(`/api/follow/viewers/${id}`, { method: "DELETE" }), `${name} deleted`)) return;
      if (id === viewerId) window.location.search = "";
      else window.location.reload();
    });
  }

  $("copy-url").addEventListener("click", async () => {
    const input = $("companion-url");
    input.select();
    try { await navigator.clipboard.writeText(input.value); toast("Copied", "success"); }
    catch (e) { document.execCommand("copy"); }
  });

  $("regenerate").addEventListener("click", async () => {
    if (!window.confirm("Make a new secret? The installed companion stops working until you install it again.")) return;
    const state = await act(() => api(mine("/api/follow/secret"), { method: "POST" }), "New companion URL made");
    if (state) {
      $("companion-url").value = state.addon_url;
      $("install-link").href = state.install_url;
      document.querySelector(`#viewer-table tr[data-viewer-id="${viewerId}"] .viewer-url`).value = state.addon_url;
    }
  });

  $("stremio-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = form.auth_key.value ? { auth_key: form.auth_key.value }
      : { email: form.email.value, password: form.password.value };
    const answer = await act(() => api(mine("/api/follow/stremio"), { method: "POST", body }), "Signed in to Stremio");
    form.password.value = "";
    form.auth_key.value = "";
    if (answer) window.location.reload();
  });

  $("stremio-disconnect").addEventListener("click", async () => {
    if (await act(() => api(mine("/api/follow/stremio"), { method: "DELETE" }), "Signed out of Stremio")) window.location.reload();
  });

  let pollTimer = null;
  function showTrakt(trakt) {
    $("trakt-state").textContent = trakt.summary;
    $("trakt-code").hidden = !trakt.pending;
    if (trakt.pending) {
      $("trakt-user-code").textContent = trakt.user_code;
      $("trakt-url").textContent = trakt.verification_url;
      $("trakt-url").href = trakt.verification_url;
    }
    $("trakt-connect").hidden = trakt.connected || trakt.pending || !trakt.available;
    $("trakt-disconnect").hidden = !(trakt.connected || trakt.pending);
  }
  async function pollTrakt() {
    const answer = await act(() => api(mine("/api/follow/trakt/device")));
    if (!answer) return;
    showTrakt(answer.trakt);
    if (answer.trakt.pending) pollTimer = setTimeout(pollTrakt, 1000);
  }
  $("trakt-connect").addEventListener("click", async () => {
    const started = await act(() => api(mine("/api/follow/trakt/device"), { method: "POST" }));
    if (started) pollTrakt();
  });
  $("trakt-disconnect").addEventListener("click", async () => {
    clearTimeout(pollTimer);
    if (await act(() => api(mine("/api/follow/trakt"), { method: "DELETE" }), "Trakt disconnected")) window.location.reload();
  });
  if (!$("trakt-code").hidden) pollTrakt();

  $("sync-now").addEventListener("click", async () => {
    if (await act(() => api(mine("/api/follow/sync"), { method: "POST" }), "Accounts read")) window.location.reload();
  });
  $("warm-now").addEventListener("click", async () => {
    const answer = await act(() => api("/api/follow/warm", { method: "POST" }));
    if (!answer) return;
    if (answer.id) toast(`Follow run #${answer.id} started`, "success", { href: `/runs/${answer.id}/`, label: "Open" });
    else toast(answer.message, "info");
  });
})();
