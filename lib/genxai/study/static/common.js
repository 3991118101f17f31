"use strict";
// What the pages keep in localStorage, one entry per study (the spec's digest):
// {participant, token, queue: [answers not yet confirmed by the server], completed}
window.StudyStore = (function () {
  const key = "genxai-study-" + document.body.dataset.study;
  return {
    load() {
      try {
        const s = JSON.parse(localStorage.getItem(key));
        if (s && typeof s.token === "string") { s.queue = Array.isArray(s.queue) ? s.queue : []; return s; }
      } catch (e) { /* unreadable entry: start again */ }
      return null;
    },
    save(s) { localStorage.setItem(key, JSON.stringify(s)); },
    clear() { localStorage.removeItem(key); },
  };
})();
