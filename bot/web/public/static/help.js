// The service directory: "sort by distance from me" when the browser shares its location. The
// location stays in the browser; no map is loaded by this page.
(function () {
  "use strict";
  var button = document.getElementById("nearest");
  if (!button || !navigator.geolocation) return;
  button.hidden = false;
  function km(a, b) {
    var r = Math.PI / 180, dLat = (b[0] - a[0]) * r, dLon = (b[1] - a[1]) * r;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) + Math.cos(a[0] * r) * Math.cos(b[0] * r) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 12742 * Math.asin(Math.sqrt(h));
  }
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      var here = [position.coords.latitude, position.coords.longitude];
      document.querySelectorAll("ul.cards").forEach(function (list) {
        var cards = Array.prototype.slice.call(list.children);
        cards.forEach(function (card) {
          var lat = parseFloat(card.getAttribute("data-lat")), lon = parseFloat(card.getAttribute("data-lon"));
          var d = isNaN(lat) ? Infinity : km(here, [lat, lon]);
          card.setAttribute("data-km", d);
          var label = card.querySelector(".distance");
          if (isFinite(d)) { label.textContent = button.getAttribute("data-distance").replace("{km}", d.toFixed(1)); label.hidden = false; }
        });
        cards.sort(function (a, b) { return parseFloat(a.getAttribute("data-km")) - parseFloat(b.getAttribute("data-km")); });
        cards.forEach(function (card) { list.appendChild(card); });
      });
      document.body.setAttribute("data-sorted", "1");
    });
  });
})();
