"use strict";
// The participant's visit.  Every answer goes into a localStorage queue first and is removed only
// when the server has confirmed it (committed to its database), so a reload, a lost connection or a
// server restart loses nothing: the queue is resent, and the server ignores an answer it already has.
(function () {
  const store = window.StudyStore;
  const state = store.load();
  if (!state) { location.replace("/"); return; }
  if (state.completed && state.queue.length === 0) { location.replace("/thanks"); return; }

  const main = document.getElementById("main");
  const status = document.getElementById("status");
  const fill = document.getElementById("progress-fill");
  const progressText = document.getElementById("progress-text");
  const RETRY_MS = 2000;
  let questions = [];
  const answered = new Set();
  let shownAt = 0;
  let flushing = false;
  let retryTimer = null;
  let finishing = false;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children || []) node.appendChild(c);
    return node;
  }

  function api(method, path, body) {
    return fetch(path, {
      method, headers: {"Authorization": "Bearer " + state.token, "Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function fatal(message) {
    main.replaceChildren(el("h2", {text: "This visit cannot go on"}), el("p", {text: message}),
      el("p", {}, [el("a", {href: "/", class: "button", text: "Back to the start page"})]));
    status.textContent = "";
  }

  function scheduleRetry() {
    status.textContent = "Saving\u2026 The server cannot be reached right now; your answers are kept in this " +
      "browser and will be sent automatically.";
    if (!retryTimer) retryTimer = setTimeout(() => { retryTimer = null; flush(); }, RETRY_MS);
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (state.queue.length) {
        const item = state.queue[0];
        let r;
        try { r = await api("POST", "/api/answers", item); } catch (e) { scheduleRetry(); return; }
        if (r.status === 401 || r.status === 403) {
          const body = await r.json().catch(() => ({}));
          fatal(body.error || "The server does not know this visit.");
          return;
        }
        if (r.status >= 500 || r.status === 408 || r.status === 429) { scheduleRetry(); return; }
        if (!r.ok) {  // a rejected answer (e.g. already answered differently): it cannot be stored, drop it
          const body = await r.json().catch(() => ({}));
          console.warn("answer not stored:", body.error || r.status);
        }
        state.queue.shift();
        store.save(state);
      }
      status.textContent = "";
      if (finishing) finish();
    } finally {
      flushing = false;
    }
  }

  function record(question, answer) {
    state.queue.push({question: question.id, answer, elapsed_ms: Math.round(performance.now() - shownAt)});
    store.save(state);
    answered.add(question.id);
    show();
    flush();
  }

  function updateProgress() {
    const n = questions.length;
    fill.style.width = (n ? (100 * answered.size / n) : 0) + "%";
    progressText.textContent = answered.size + " / " + n;
  }

  function gif(src, cls) {
    const img = el("img", {src, alt: "animation", class: cls || "anim"});
    let tries = 0;
    // the server may be restarting: load the animation again a little later
    img.addEventListener("error", () => {
      if (++tries <= 30) setTimeout(() => { img.src = src + "?try=" + tries; }, RETRY_MS);
    });
    return img;
  }

  function showClassification(q, index, total) {
    const options = q.options.map((o) => el("figure", {class: "option"}, [
      el("figcaption", {text: "Change " + o.label}),
      el("div", {class: "pair"}, o.examples.map((src) => gif(src))),
    ]));
    const buttons = q.options.map((o) => {
      const b = el("button", {class: "choice", "data-attribute": o.attribute, text: "Change " + o.label});
      b.addEventListener("click", () => record(q, o.attribute));
      return b;
    });
    main.replaceChildren(
      el("p", {class: "step", text: "Part 1 of 2 \u00b7 question " + index + " of " + total}),
      el("h2", {text: "Does this animation show change A or change B?"}),
      el("p", {class: "hint", text: "Each pair of example animations shows one change. Compare the animation " +
        "in the middle with them."}),
      el("div", {class: "options"}, [options[0], el("figure", {class: "query"}, [
        el("figcaption", {text: "Which change is this?"}), gif(q.query, "anim large")]), options[1]]),
      el("div", {class: "buttons"}, buttons),
    );
  }

  function showVerbal(q, index, total) {
    const input = el("input", {type: "text", id: "description", maxlength: "120", autocomplete: "off",
      placeholder: "e.g. thicker stroke", "aria-label": "description"});
    const next = el("button", {class: "primary", id: "next", text: "Next"});
    const hint = el("p", {class: "hint", text: ""});
    next.disabled = true;
    const words = () => input.value.trim().split(/\s+/).filter(Boolean).length;
    input.addEventListener("input", () => {
      const n = words();
      next.disabled = n < 1 || n > 4;
      hint.textContent = n > 4 ? "Please use at most 4 words." : "";
    });
    const submit = () => { if (!next.disabled) record(q, input.value.trim()); };
    next.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
    main.replaceChildren(
      el("p", {class: "step", text: "Part 2 of 2 \u00b7 question " + index + " of " + total}),
      el("h2", {text: "Describe the most prominent change in 1\u20134 words"}),
      el("p", {class: "hint", text: "All four animations show the same kind of change."}),
      el("div", {class: "row"}, q.animations.map((src) => gif(src))),
      el("div", {class: "answer"}, [input, next]),
      hint,
    );
    input.focus();
  }

  function show() {
    updateProgress();
    const i = questions.findIndex((q) => !answered.has(q.id));
    if (i < 0) { finishing = true; delete main.dataset.question; finish(); return; }
    shownAt = performance.now();
    const q = questions[i];
    main.dataset.question = q.id;   // which question is on screen (for tests and support)
    const part = questions.filter((x) => x.kind === q.kind);
    const index = part.findIndex((x) => x.id === q.id) + 1;
    if (q.kind === "classification") showClassification(q, index, part.length);
    else showVerbal(q, index, part.length);
    window.scrollTo(0, 0);
  }

  async function finish() {
    main.replaceChildren(el("h2", {text: "Saving your answers\u2026"}),
      el("p", {text: "Please keep this page open for a moment."}));
    if (state.queue.length) { flush(); return; }
    let r;
    try { r = await api("POST", "/api/complete"); } catch (e) { scheduleRetry(); return; }
    if (r.ok) {
      state.completed = true;
      store.save(state);
      location.replace("/thanks");
    } else if (r.status === 409) {   // the server misses answers: ask for its state again
      start();
    } else if (r.status >= 500) {
      scheduleRetry();
    } else {
      const body = await r.json().catch(() => ({}));
      fatal(body.error || ("server answered " + r.status));
    }
  }

  async function start() {
    let r;
    try { r = await api("GET", "/api/state"); } catch (e) {
      status.textContent = "The server cannot be reached; retrying\u2026";
      setTimeout(start, RETRY_MS);
      return;
    }
    const body = await r.json().catch(() => ({}));
    if (r.status === 401 || r.status === 403) {
      store.clear();
      fatal((body.error || "The server does not know this visit.") + " Your browser has forgotten it now.");
      return;
    }
    if (!r.ok) { status.textContent = "Server error; retrying\u2026"; setTimeout(start, RETRY_MS); return; }
    status.textContent = "";
    questions = body.questions;
    answered.clear();
    for (const id of body.answered) answered.add(id);
    for (const a of state.queue) answered.add(a.question);   // given here, not yet confirmed
    show();
    flush();
  }

  start();
})();
