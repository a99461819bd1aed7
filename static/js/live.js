// Live run state: WebSocket first, HTTP snapshot on every (re)connect, polling while the socket is down.
// Messages carry the whole run with a per-run `seq`; older messages than the one shown are dropped.
// Live(onRun, onState): the current run (the dashboard). Live(onRun, onState, {runId}): that run only
// (its run page): other runs' messages are ignored and the snapshot is that run's detail.
(function () {
  "use strict";
  const log = (text) => { if (window.debugLog) window.debugLog(text); };

  function Live(onRun, onState, options = {}) {
    const runId = options.runId === undefined ? null : Number(options.runId);
    let socket = null;
    let last = { id: undefined, seq: -1 };
    let retryMs = 1000;
    let pollTimer = null;
    let lastMessageAt = 0;
    let active = false;
    let stopped = false;

    function accept(run, event) {
      if (!run) return false;
      if (runId !== null && Number(run.id) !== runId) return false;
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
        const data = await App.api(runId === null ? "/api/job/status" : `/api/runs/${runId}`);
        const run = runId === null ? data.status : data.run;
        log(`snapshot (${reason}): run ${run.id} ${run.status} seq ${run.seq}`);
        accept(run, "snapshot");
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

    // No more messages: the socket closes and polling ends (a run page once its run has finished).
    function stop() {
      stopped = true;
      clearInterval(pollTimer);
      if (socket) socket.close();
    }

    pollTimer = setInterval(poll, 1000);
    connect();
    window.addEventListener("beforeunload", stop);
    return { accept, refetch, stop };
  }

  window.Live = Live;
})();
