// The embedded page tells the page that framed it how the verification ended.
// The message and the one origin allowed to receive it are written by the server (data
// attributes: the Content-Security-Policy allows no inline script); the browser delivers
// the message only if the parent page is at exactly that origin, and never to anyone else.
(function () {
  "use strict";
  var holder = document.querySelector("[data-kyvs-message][data-kyvs-target-origin]");
  if (!holder || window.parent === window) { return; }
  var target = holder.getAttribute("data-kyvs-target-origin");
  if (!target || target === "*") { return; }
  window.parent.postMessage(JSON.parse(holder.getAttribute("data-kyvs-message")), target);
})();
