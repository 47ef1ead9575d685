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

// The studio's edit form: while someone types, the text is checked by the same rules as
// "acasa kb check" and each problem is shown under its field.
(function () {
  "use strict";
  var form = document.querySelector("form[data-check]");
  if (!form || !window.fetch) return;
  var timer = null, sent = 0;

  function show(problems) {
    form.querySelectorAll(".field-problems").forEach(function (list) {
      var field = list.getAttribute("data-field");
      var mine = problems.filter(function (p) {
        return p.field === field || (field === "file" && !form.querySelector("#problems-" + p.field));
      });
      list.textContent = "";
      mine.forEach(function (p) {
        var item = document.createElement("li");
        item.className = p.error ? "error" : "warning";
        item.dir = "auto";  // the messages are in the staff's language, inside a form that may be right to left
        item.textContent = p.message;
        list.appendChild(item);
      });
      var input = form.querySelector("[name=" + field + "]");
      if (input) input.setAttribute("aria-invalid", mine.some(function (p) { return p.error; }) ? "true" : "false");
    });
  }

  function check() {
    var mine = ++sent;
    fetch(form.getAttribute("data-check"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer || mine !== sent) return;  // an older check answering late
        show(answer.problems);
        form.setAttribute("data-checked", String(mine));
      })
      .catch(function () {});
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
})();
