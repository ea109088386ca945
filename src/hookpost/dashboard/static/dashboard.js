// hookpost dashboard: live regions and copy buttons. Pages read fine without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A notice that came in the URL (a portal framed by another site, where the
  // one-shot cookie cannot be kept) is shown once: take it out of the address.
  var here = new URL(window.location.href);
  if (here.searchParams.has("done")) {
    here.searchParams.delete("done");
    here.searchParams.delete("n");
    window.history.replaceState(window.history.state, "", here.toString());
  }

  // Copy buttons: <button class="copy" data-copy="element-id">.
  document.addEventListener("click", function (event) {
    // Or <button class="copy" data-copy-text="the text"> for short values (ids, URLs).
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) return;
    var literal = button.getAttribute("data-copy-text");
    var source = literal === null ? document.getElementById(button.getAttribute("data-copy")) : null;
    if (literal === null && !source) return;
    var text = literal === null ? source.textContent : literal;
    var label = button.textContent;
    function done(ok) {
      button.textContent = ok ? "Copied" : "Select and copy by hand";
      setTimeout(function () { button.textContent = label; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      // Plain http on another host is no secure context: copy through a hidden textarea.
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      done(ok);
    }
  });

  // Selectable rows: <input class="select-row" form="F"> and one <input class="select-all">;
  // the form's [data-selected-count] button says how many are ticked.
  function countSelected() {
    var button = document.querySelector("[data-selected-count]");
    if (!button) return;
    var rows = document.querySelectorAll("input.select-row");
    var n = document.querySelectorAll("input.select-row:checked").length;
    button.textContent = n ? "Resend " + n + " selected…" : "Resend selected…";
    button.disabled = n === 0;
    var all = document.querySelector("input.select-all");
    if (all) {
      all.checked = n > 0 && n === rows.length;
      all.indeterminate = n > 0 && n < rows.length;
    }
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("select-all")) {
      document.querySelectorAll("input.select-row").forEach(function (row) {
        row.checked = box.checked;
      });
    }
    if (box.classList && (box.classList.contains("select-all") || box.classList.contains("select-row"))) {
      countSelected();
    }
  });
  countSelected();

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
            // Ticked rows stay ticked when the region is redrawn.
            var ticked = {};
            region.querySelectorAll("input.select-row:checked").forEach(function (box) {
              ticked[box.value] = true;
            });
            region.innerHTML = html;
            region.setAttribute("data-live-version", version);
            region.querySelectorAll("input.select-row").forEach(function (box) {
              box.checked = !!ticked[box.value];
            });
            countSelected();
          });
        })
        .catch(function () { /* offline or signed out: try again next tick */ })
        .then(function () { busy = false; });
    }, INTERVAL_MS);
  }
  document.querySelectorAll("[data-live]").forEach(poll);

  // The project tabs scroll sideways on a narrow screen. Say so: a fade and an
  // arrow on each side that has more tabs (CSS, from data-more), and the
  // current tab brought into view.
  var tabs = document.querySelector(".project-nav ul");
  if (tabs) {
    var bar = tabs.parentNode;
    var mark = function () {
      var more = [];
      if (tabs.scrollLeft > 2) more.push("left");
      if (tabs.scrollLeft + tabs.clientWidth < tabs.scrollWidth - 2) more.push("right");
      bar.setAttribute("data-more", more.join(" "));
    };
    var current = tabs.querySelector('[aria-current="page"]');
    if (current && tabs.scrollWidth > tabs.clientWidth) {
      var box = tabs.getBoundingClientRect();
      var tab = current.getBoundingClientRect();
      tabs.scrollLeft += tab.left - box.left - (box.width - tab.width) / 2;
    }
    tabs.addEventListener("scroll", mark, { passive: true });
    window.addEventListener("resize", mark);
    mark();
  }
})();
