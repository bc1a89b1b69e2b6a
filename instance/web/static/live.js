// Keeps the header's notification count current without reloading: the server sends
// an "unread" event (the count) whenever it changes. Without script the count is the
// one the page was served with, and /app/notifications lists everything.
(function () {
  "use strict";
  var count = document.getElementById("unread");
  if (!count || !window.EventSource) { return; }
  var source = new EventSource("/app/notifications/stream");
  source.addEventListener("unread", function (event) {
    var value = String(parseInt(event.data, 10) || 0);
    if (count.textContent !== value) {
      count.textContent = value;
      count.className = value === "0" ? "count" : "count new";
    }
  });
})();
