// Acasă web chat: no framework, no cookies, nothing from other sites.
// The conversation id lives in this browser's storage; messages wait in storage until the server
// has them (so a message typed offline is sent when the connection is back), and replies come by
// a server-sent event stream that resumes after the last one shown.
(function () {
  "use strict";
  var root = document.getElementById("acasa-chat");
  if (!root) return;
  var api = root.getAttribute("data-api");
  var log = root.querySelector(".log");
  var form = root.querySelector("form.compose");
  var input = form.querySelector("textarea");
  var status = root.querySelector(".status");
  var picker = root.querySelector("select.language");
  var RTL = { ar: 1, ur: 1 };

  var memory = {};
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return memory[k] || null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { memory[k] = v; } },
    drop: function (k) { try { window.localStorage.removeItem(k); } catch (e) { delete memory[k]; } }
  };

  function randomId(bytes) {
    var a = new Uint8Array(bytes);
    window.crypto.getRandomValues(a);
    var s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  var conversation = store.get("acasa.conversation");
  var fresh = !conversation;
  if (fresh) { conversation = randomId(18); store.set("acasa.conversation", conversation); }
  var lastSeq = parseInt(store.get("acasa.seq:" + conversation) || "0", 10);
  var pending = JSON.parse(store.get("acasa.pending:" + conversation) || "[]");
  var shownIds = {};  // the person's messages on the screen, by their id
  var source = null;
  var lang = root.getAttribute("data-lang") || (navigator.language || "en").slice(0, 2).toLowerCase();

  function setStatus(key) {
    status.textContent = key ? root.getAttribute("data-" + key) : "";
    root.setAttribute("data-connection", key || "online");
  }

  function show(m) {
    if (m.seq && m.seq <= lastSeq && log.querySelector('[data-seq="' + m.seq + '"]')) return;
    var item = document.createElement("div");
    item.className = "msg " + (m.from === "me" ? "me" : m.from === "mediator" ? "mediator" : "bot");
    if (m.seq) item.setAttribute("data-seq", m.seq);
    if (m.lang) item.setAttribute("lang", m.lang);
    item.dir = m.dir || (RTL[m.lang] ? "rtl" : "auto");
    var body = document.createElement("div");
    body.className = "text";
    body.innerHTML = m.html;  // made safe by the server: everything escaped, then a few tags
    item.appendChild(body);
    if (m.buttons && m.buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      m.buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.addEventListener("click", function () { send({ payload: b.payload, label: b.label }); });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    if (m.seq && m.seq > lastSeq) { lastSeq = m.seq; store.set("acasa.seq:" + conversation, String(lastSeq)); }
    if (m.farewell) {  // "forget" is done: the next message starts a new conversation
      store.drop("acasa.conversation"); store.drop("acasa.seq:" + conversation); store.drop("acasa.pending:" + conversation);
      root.setAttribute("data-forgotten", "1");
    }
  }

  function save() { store.set("acasa.pending:" + conversation, JSON.stringify(pending)); }

  var sending = false, retry = 1000;
  function flush() {
    if (sending || !pending.length) return;
    sending = true;
    var m = pending[0];
    fetch(api + "/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ conversation: conversation, id: m.id, text: m.text, payload: m.payload, label: m.label, quiet: m.quiet, lang: lang }),
      credentials: "omit",
      cache: "no-store"
    }).then(function (r) {
      sending = false;
      if (r.ok || r.status === 400 || r.status === 413) {  // stored, or never will be: next one
        pending.shift(); save(); retry = 1000;
        if (!r.ok) setStatus("refused"); else if (root.getAttribute("data-connection") !== "offline") setStatus("");
        flush();
      } else {  // too many, or the server is busy: the message waits and is sent again
        setStatus(r.status === 429 ? "slow" : "offline");
        setTimeout(flush, retry); retry = Math.min(retry * 2, 30000);
      }
    }).catch(function () {
      sending = false; setStatus("offline");
      setTimeout(flush, retry); retry = Math.min(retry * 2, 30000);
    });
  }

  function startOver() {  // after "forget": a new, unknown conversation, with an empty screen
    if (source) source.close();
    conversation = randomId(18); store.set("acasa.conversation", conversation);
    lastSeq = 0; pending = []; shownIds = {}; log.textContent = "";
    root.removeAttribute("data-forgotten");
    listen();
  }

  function send(message) {
    if (root.getAttribute("data-forgotten")) startOver();
    message.id = randomId(12);
    pending.push(message); save();
    if (!message.quiet && (message.text || message.label)) showMine(message);
    flush();
  }

  function showMine(message) {
    var shown = document.createElement("div");
    shown.textContent = message.text || message.label;  // what the person typed is never HTML
    shownIds[message.id] = 1;
    show({ from: "me", html: shown.innerHTML, dir: "auto" });
  }

  function listen() {
    if (!window.EventSource) { poll(); return; }
    source = new EventSource(api + "/stream?conversation=" + encodeURIComponent(conversation) + "&after=" + lastSeq);
    source.addEventListener("message", function (event) {
      var m = JSON.parse(event.data);
      if (m.from !== "me" || !shownIds[m.id]) { if (m.id) shownIds[m.id] = 1; show(m); }
      setStatus(pending.length ? "sending" : "");
    });
    source.addEventListener("open", function () { setStatus(""); flush(); });
    source.addEventListener("error", function () { setStatus("offline"); });  // it reconnects by itself
  }

  function poll() {
    fetch(api + "/messages?conversation=" + encodeURIComponent(conversation) + "&after=" + lastSeq, { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (list) {
        list.messages.forEach(function (m) { if (m.from !== "me" || !shownIds[m.id]) { if (m.id) shownIds[m.id] = 1; show(m); } });
        setStatus("");
      })
      .catch(function () { setStatus("offline"); })
      .then(function () { setTimeout(poll, 3000); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text });
  });
  input.addEventListener("keydown", function (event) {
    // Not while a keyboard for Devanagari, Sinhala, Tamil or Bengali is still composing a letter.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  if (picker) {
    picker.value = lang;
    picker.addEventListener("change", function () {
      lang = picker.value;
      document.documentElement.lang = lang;
      root.dir = RTL[lang] ? "rtl" : "ltr";
      send({ payload: "lang:" + lang, label: picker.options[picker.selectedIndex].text });
    });
  }
  window.addEventListener("online", flush);

  // The history of this conversation (the person's own messages too), a hundred at a time, then
  // new ones as they come.
  function history(after) {
    return fetch(api + "/messages?conversation=" + encodeURIComponent(conversation) + "&after=" + after, { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (list) {
        list.messages.forEach(function (m) { if (m.id) shownIds[m.id] = 1; show(m); });
        if (list.messages.length >= 100) return history(list.messages[list.messages.length - 1].seq);
      });
  }
  lastSeq = 0;
  history(0)
    .catch(function () { setStatus("offline"); })
    .then(function () {
      pending.forEach(function (m) { if ((m.text || m.label) && !m.quiet && !shownIds[m.id]) showMine(m); });
      if (fresh && !pending.length) {
        var start = root.getAttribute("data-start");
        var explicit = root.getAttribute("data-lang-explicit") === "1";
        send({ text: "/start" + (start ? " " + start : explicit ? " " + lang : ""), quiet: true });
      }
      listen();
      flush();
    });
  root.setAttribute("data-ready", "1");
})();
