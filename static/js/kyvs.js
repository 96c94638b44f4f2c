// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Change language as soon as one is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Count down the wait before "Resend OTP" may be pressed, then enable it.
  document.querySelectorAll("button[data-wait]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
    var label = button.querySelector("[data-wait-label]");
    if (left <= 0) { return; }
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        if (label) { label.remove(); }
      } else if (label) {
        label.textContent = label.textContent.replace(/\d+/, String(left));
      }
    }, 1000);
  });

  // The device's own share sheet (Web Share API), where the browser has one.
  document.querySelectorAll("button[data-share-url]").forEach(function (button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({
        url: button.getAttribute("data-share-url"),
        text: button.getAttribute("data-share-text")
      }).catch(function () { /* the person closed the sheet */ });
    });
  });

  // The customer's screen follows an answer given on the citizen's own phone: it asks the
  // server every second whether it should move on, and goes where it is told.
  document.querySelectorAll("[data-poll-url]").forEach(function (element) {
    var url = element.getAttribute("data-poll-url");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (state && !state.waiting && state.next) {
            clearInterval(timer);
            window.location.assign(state.next);
          }
        })
        .catch(function () { /* the next try will do */ });
    }, 1000);
  });
})();
