"use strict";
(function () {
  const store = window.StudyStore;
  const saved = store.load();
  const status = document.getElementById("status");
  if (saved && saved.completed) {
    document.getElementById("fresh").hidden = true;
    document.getElementById("done").hidden = false;
    return;
  }
  if (saved) {
    document.getElementById("fresh").hidden = true;
    document.getElementById("resume").hidden = false;
    return;
  }
  const agree = document.getElementById("agree");
  const start = document.getElementById("start");
  agree.addEventListener("change", () => { start.disabled = !agree.checked; });
  start.addEventListener("click", async () => {
    start.disabled = true;
    status.textContent = "Starting\u2026";
    try {
      const r = await fetch("/api/participants", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({consent: true}),
      });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || ("server answered " + r.status));
      store.save({participant: body.participant, token: body.token, queue: [], completed: false});
      location.href = "/study";
    } catch (e) {
      status.textContent = "Could not start the study (" + e.message + "). Please try again in a moment.";
      start.disabled = !agree.checked;
    }
  });
})();
