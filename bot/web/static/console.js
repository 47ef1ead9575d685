// Live updates: the server sends "change" events; every element with data-live is then fetched
// again from its URL and replaced. What a mediator is typing is kept across the refresh.
(function () {
  "use strict";
  var live = document.querySelectorAll("[data-live]");
  if (!live.length || !window.EventSource) return;
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var jobs = Array.prototype.map.call(live, function (el) {
      return fetch(el.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var typed = {};
          el.querySelectorAll("textarea").forEach(function (t) { typed[t.name] = t.value; });
          var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.name : null;
          el.innerHTML = html;
          el.querySelectorAll("textarea").forEach(function (t) {
            if (typed[t.name]) t.value = typed[t.name];
            if (focused && t.name === focused) t.focus();
          });
        });
    });
    Promise.all(jobs).catch(function () {}).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }

  var source = new EventSource("/console/events");
  source.addEventListener("change", refresh);
  document.documentElement.setAttribute("data-live-ready", "1");
})();
