// Acasă chat widget: add <script src="https://ACASA/chat/widget.js" defer></script> to a page.
// Options as attributes of that tag: data-lang (else the page's), data-color, data-position
// ("left" or "right"), data-label. It adds a button; the chat itself opens in a frame served by
// Acasă, so the page shares nothing with it and loads nothing from other sites.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("acasa-widget")) return;
  var origin = new URL(script.src).origin;
  var lang = script.getAttribute("data-lang") || (document.documentElement.lang || "").slice(0, 2);
  var color = script.getAttribute("data-color") || "#1b5e9e";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var label = script.getAttribute("data-label") || "Chat · Acasă";

  var button = document.createElement("button");
  button.id = "acasa-widget";
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "acasa-widget-frame");
  button.style.cssText = "position:fixed;bottom:16px;" + side + ":16px;z-index:2147483000;border:0;border-radius:24px;" +
    "padding:12px 18px;font:600 16px/1.2 system-ui,sans-serif;color:#fff;background:" + color + ";box-shadow:0 2px 8px rgba(0,0,0,.3);cursor:pointer";

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "acasa-widget-frame";
      frame.title = label;
      frame.src = origin + "/chat?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "") +
        (script.getAttribute("data-start") ? "&start=" + encodeURIComponent(script.getAttribute("data-start")) : "");
      frame.style.cssText = "position:fixed;bottom:72px;" + side + ":8px;z-index:2147483000;border:1px solid #ccd;" +
        "border-radius:12px;background:#fff;width:min(400px,calc(100vw - 16px));height:min(640px,calc(100vh - 88px));box-shadow:0 4px 16px rgba(0,0,0,.25)";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", frame.hidden ? "false" : "true");
  }
  button.addEventListener("click", open);
  document.body.appendChild(button);
})();
