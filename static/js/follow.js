// Follow page: copy the companion URL, a new secret, the Stremio sign-in, the Trakt device code
// (polled at the interval Trakt announced), sync and warm now. Answers reload the page's state.
(function () {
  "use strict";
  const { api, toast } = window.App;
  const $ = (id) => document.getElementById(id);

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

  $("copy-url").addEventListener("click", async () => {
    const input = $("companion-url");
    input.select();
    try { await navigator.clipboard.writeText(input.value); toast("Copied", "success"); }
    catch (e) { document.execCommand("copy"); }
  });

  $("regenerate").addEventListener("click", async () => {
    if (!window.confirm("Make a new secret? The installed companion stops working until you install it again.")) return;
    const state = await act(() => api("/api/follow/secret", { method: "POST" }), "New companion URL made");
    if (state) {
      $("companion-url").value = state.addon_url;
      $("install-link").href = state.install_url;
    }
  });

  $("stremio-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = form.auth_key.value ? { auth_key: form.auth_key.value }
      : { email: form.email.value, password: form.password.value };
    const answer = await act(() => api("/api/follow/stremio", { method: "POST", body }), "Signed in to Stremio");
    form.password.value = "";
    form.auth_key.value = "";
    if (answer) window.location.reload();
  });

  $("stremio-disconnect").addEventListener("click", async () => {
    if (await act(() => api("/api/follow/stremio", { method: "DELETE" }), "Signed out of Stremio")) window.location.reload();
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
    const answer = await act(() => api("/api/follow/trakt/device"));
    if (!answer) return;
    showTrakt(answer.trakt);
    if (answer.trakt.pending) pollTimer = setTimeout(pollTrakt, 1000);
  }
  $("trakt-connect").addEventListener("click", async () => {
    const started = await act(() => api("/api/follow/trakt/device", { method: "POST" }));
    if (started) pollTrakt();
  });
  $("trakt-disconnect").addEventListener("click", async () => {
    clearTimeout(pollTimer);
    if (await act(() => api("/api/follow/trakt", { method: "DELETE" }), "Trakt disconnected")) window.location.reload();
  });
  if (!$("trakt-code").hidden) pollTrakt();

  $("sync-now").addEventListener("click", async () => {
    if (await act(() => api("/api/follow/sync", { method: "POST" }), "Accounts read")) window.location.reload();
  });
  $("warm-now").addEventListener("click", async () => {
    const answer = await act(() => api("/api/follow/warm", { method: "POST" }));
    if (!answer) return;
    if (answer.id) toast(`Follow run #${answer.id} started`, "success", { href: `/runs/${answer.id}/`, label: "Open" });
    else toast(answer.message, "info");
  });
})();
