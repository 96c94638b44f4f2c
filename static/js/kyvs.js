// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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

  // The result clears itself from the shared screen (WCAG 2.2.1: the time is shown, a
  // warning is read out 30 seconds before the end, and "I need more time" starts the full
  // time again, as often as it is pressed). The countdown follows the clock, not the
  // number of ticks, so a busy or backgrounded tab still clears on time.
  document.querySelectorAll("[data-clear-after]").forEach(function (box) {
    var total = parseInt(box.getAttribute("data-clear-after"), 10) || 0;
    var target = box.getAttribute("data-clear-to");
    var time = box.querySelector("[data-clear-time]");
    var news = box.querySelector("[data-clear-news]");
    var warning = box.querySelector("template[data-clear-warning]");
    var extended = box.querySelector("template[data-clear-extended]");
    var more = box.querySelector("[data-more-time]");
    var WARN_AT = 30;
    var deadline = Date.now() + total * 1000;
    var warned = total <= WARN_AT;
    var timer;

    function clock(seconds) {
      var rest = seconds % 60;
      return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
    }
    function say(template) {
      if (news && template) { news.textContent = template.content.textContent; }
    }
    function tick() {
      var left = Math.max(Math.ceil((deadline - Date.now()) / 1000), 0);
      if (time) { time.textContent = clock(left); }
      if (!warned && left <= WARN_AT) { warned = true; say(warning); }
      if (left <= 0) {
        clearInterval(timer);
        // Hide the result at once, then leave; replace() keeps it out of the history.
        var main = document.getElementById("main");
        if (main) { main.hidden = true; }
        window.location.replace(target);
      }
    }
    if (more) {
      more.addEventListener("click", function () {
        deadline = Date.now() + total * 1000;
        warned = total <= WARN_AT;
        say(extended);
        tick();
      });
    }
    timer = setInterval(tick, 1000);
    tick();
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
  // Once the page sends one of its forms (the code, a resend, decline, cancel) it is leaving,
  // and the polls stop: an answer arriving meanwhile would start a second navigation to the
  // one-time result, whose first copy the form's own redirect collects, and the screen would
  // show the second, empty one.
  document.querySelectorAll("[data-poll-url]").forEach(function (element) {
    var url = element.getAttribute("data-poll-url");
    var leaving = false;
    var timer = setInterval(function () {
      if (leaving) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!leaving && state && !state.waiting && state.next) {
            leaving = true;
            clearInterval(timer);
            window.location.assign(state.next);
          }
        })
        .catch(function () { /* the next try will do */ });
    }, 1000);
    document.addEventListener("submit", function () {
      leaving = true;
      clearInterval(timer);
    }, true);
  });
})();
