// hookpost dashboard: live regions and copy buttons. Pages read fine without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Copy buttons: <button class="copy" data-copy="element-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var label = button.textContent;
    function done(ok) {
      button.textContent = ok ? "Copied" : "Select and copy by hand";
      setTimeout(function () { button.textContent = label; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
  });

  // Live regions: <div data-live="NAME" data-live-version="HASH">. Every 2 s the
  // same URL with ?fragment=NAME answers the region alone; it is swapped in
  // only when its X-Live-Version differs, so focus and scroll stay put.
  var INTERVAL_MS = 2000;
  function poll(region) {
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      var url = new URL(window.location.href);
      url.searchParams.set("fragment", region.getAttribute("data-live"));
      url.searchParams.delete("done");
      fetch(url.toString(), { credentials: "same-origin", cache: "no-store", redirect: "error" })
        .then(function (response) {
          var version = response.headers.get("X-Live-Version");
          if (!response.ok || !version || version === region.getAttribute("data-live-version")) {
            return null;
          }
          return response.text().then(function (html) {
            region.innerHTML = html;
            region.setAttribute("data-live-version", version);
          });
        })
        .catch(function () { /* offline or signed out: try again next tick */ })
        .then(function () { busy = false; });
    }, INTERVAL_MS);
  }
  document.querySelectorAll("[data-live]").forEach(poll);
})();
