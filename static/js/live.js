// Live run state: WebSocket first, HTTP snapshot on every (re)connect, polling while the socket is down.
// Messages carry the whole run with a per-run `seq`; older messages than the one shown are dropped.
(function () {
  "use strict";
  const log = (text) => { if (window.debugLog) window.debugLog(text); };

  function Live(onRun, onState) {
    let socket = null;
    let last = { id: undefined, seq: -1 };
    let retryMs = 1000;
    let pollTimer = null;
    let lastMessageAt = 0;
    let active = false;
    let stopped = false;

    function accept(run, event) {
      if (!run) return false;
      const id = run.id === null ? null : Number(run.id);
      if (last.id !== undefined && last.id !== null && id !== null) {
        if (id < last.id) return false;
        if (id === last.id && Number(run.seq || 0) < last.seq) return false;
      }
      if (id === null && last.id) return false;  // "idle" never replaces a known run
      last = { id, seq: Number(run.seq || 0) };
      active = !!run.active;
      lastMessageAt = Date.now();
      onRun(run, event);
      return true;
    }

    async function refetch(reason) {
      try {
        const data = await App.api("/api/job/status");
        log(`snapshot (${reason}): run ${data.status.id} ${data.status.status} seq ${data.status.seq}`);
        accept(data.status, "snapshot");
      } catch (error) {
        log(`snapshot failed: ${error.message}`);
      }
    }

    function setState(state) {
      log(`socket ${state}`);
      if (onState) onState(state);
    }

    function poll() {
      // Socket down: poll often. Socket up: re-check only if an active run went quiet (a dropped message).
      const down = !socket || socket.readyState !== WebSocket.OPEN;
      if (down || (active && Date.now() - lastMessageAt > 4000)) refetch(down ? "poll" : "stale");
    }

    function connect() {
      if (stopped) return;
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      setState("connecting");
      socket = new WebSocket(scheme + location.host + "/ws/progress/");
      socket.onopen = () => { retryMs = 1000; setState("live"); refetch("connect"); };
      socket.onmessage = (message) => {
        let data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        if (data.event === "connected" || data.event === "pong") return;
        log(`ws ${data.event}: run ${data.run && data.run.id} ${data.run && data.run.status} seq ${data.run && data.run.seq}`);
        accept(data.run, data.event);
      };
      socket.onclose = (event) => {
        socket = null;
        if (stopped) return;
        setState(event.code === 4401 ? "signed out" : "polling");
        refetch("socket closed");
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      };
    }

    pollTimer = setInterval(poll, 1000);
    connect();
    window.addEventListener("beforeunload", () => { stopped = true; if (socket) socket.close(); clearInterval(pollTimer); });
    return { accept, refetch };
  }

  window.Live = Live;
})();
