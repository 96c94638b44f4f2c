// The embed demo page (debug mode only): print what the KYVS frame posts, then what the
// back end hears from the API about the same session.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log) { return; }
  var portal = log.getAttribute("data-portal-origin");
  var sessionUrl = log.getAttribute("data-session-url");
  var first = true;

  function print(title, value) {
    if (first) { log.textContent = ""; first = false; }
    log.textContent += title + "\n" + JSON.stringify(value, null, 2) + "\n\n";
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== portal) { return; }  // only KYVS may tell us anything
    print("message from " + event.origin, event.data);
    if (event.data && event.data.session_id) {
      fetch(sessionUrl.replace("00000000-0000-0000-0000-000000000000", event.data.session_id))
        .then(function (answer) { return answer.json(); })
        .then(function (body) { print("GET /api/v3/embed/sessions/" + event.data.session_id, body); });
    }
  });
})();
