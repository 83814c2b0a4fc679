// Bellhop dashboard: small enhancements on top of pages that work without
// JavaScript. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";

  // The hold countdown: "14:59 left", then a plain sentence once it ends.
  function tick() {
    var els = document.querySelectorAll(".countdown[data-expires]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var left = Math.floor((Date.parse(el.getAttribute("data-expires")) - Date.now()) / 1000);
      if (isNaN(left)) continue;
      if (left <= 0) {
        el.textContent = "The hold has ended: the room may be gone.";
        continue;
      }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = "(" + m + ":" + (s < 10 ? "0" : "") + s + " left)";
    }
  }
  setInterval(tick, 1000);

  // After a page or form comes back with errors, move focus to the error
  // summary (GOV.UK pattern) so keyboard and screen reader users hear them.
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  // A page that waits for something (a payment being confirmed) asks to be
  // reloaded (data-refresh on <main>). Without JavaScript a
  // <meta http-equiv="refresh"> inside <noscript> does it; with JavaScript
  // this does, so no page carries an unannounced timed refresh (WCAG 2.2.1)
  // and a page swapped in by htmx, which keeps the old <head>, still reloads.
  var reloading = null;
  function scheduleReload() {
    var el = document.querySelector("[data-refresh]");
    if (reloading) { clearTimeout(reloading); reloading = null; }
    if (!el) return;
    var secs = parseInt(el.getAttribute("data-refresh"), 10) || 2;
    reloading = setTimeout(function () { window.location.reload(); }, secs * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () { tick(); focusErrors(); scheduleReload(); });
  document.addEventListener("htmx:afterSettle", function (e) {
    tick();
    scheduleReload();
    // A whole page swapped in (a boosted link or form): errors first, else
    // the main content, as a full page load would.
    if (e.detail && e.detail.boosted) {
      if (document.getElementById("error-summary")) focusErrors();
      else {
        var main = document.getElementById("main");
        if (main) main.focus({ preventScroll: true });
      }
    }
  });
})();
