/* Switchboard console: small progressive enhancements, no dependencies. */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* The screen-pop's state badge, as call.html colours it. */
  var BADGE = { "ringing": "warn", "in progress": "good", "ended": "" };

  /* A call's screen-pop opens by itself once per browser tab: when she leaves it (to look
     up the customer, say), the next poll must not drag her back. */
  var POPPED = "switchboard-popped-";

  function screenPopShown(callId) {
    window.sessionStorage.setItem(POPPED + callId, "1");
  }

  /* Typing in a form that is not sent yet: a call she takes must not throw that away. */
  var typing = false;
  document.addEventListener("input", function (event) {
    if (event.target && event.target.form) typing = true;
  });
  document.addEventListener("submit", function () { typing = false; });

  function offerScreenPop(url) {
    var notice = el("p", { "class": "flash flash-success call-taken", "role": "alert" },
      "You took a call. Your typing on this page is kept. ");
    notice.appendChild(el("a", { "href": url }, "Open its screen-pop"));
    var main = document.querySelector("main") || document.body;
    main.insertBefore(notice, main.firstChild);
  }

  /* The server says where the screen-pop is (``pop_url`` next to ``pop_call_id``). */
  function openScreenPopOnce(callId, url) {
    if (!callId || !url || window.sessionStorage.getItem(POPPED + callId)) return;
    screenPopShown(callId);
    if (typing) {
      offerScreenPop(url);
      return;
    }
    window.location.assign(url);
  }

  /* The rows as the server rendered them (each call's "html", the live page's own row
     template): the page never builds a row itself. Parsed inert in a <template>. */
  function callRows(calls) {
    var template = document.createElement("template");
    template.innerHTML = calls.map(function (call) { return call.html; }).join("");
    return template.content;
  }

  /* Poll the live-calls JSON every second; open the screen-pop of the call I answered. */
  function liveCalls(initialPop, initialPopUrl) {
    var table = document.getElementById("live-calls");
    var body = table.querySelector("tbody");
    var empty = document.getElementById("live-empty");
    var status = document.getElementById("live-status");
    var source = table.getAttribute("data-source");
    var failures = 0;

    var announcer = document.getElementById("live-announce");
    var known = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-call-id]"), function (tr) {
      known[tr.getAttribute("data-call-id")] = true;
    });

    function announce(calls) {
      var fresh = calls.filter(function (call) { return !known[call.id]; });
      calls.forEach(function (call) { known[call.id] = true; });
      if (announcer && fresh.length) {
        announcer.textContent = fresh.map(function (call) {
          return "New call " + call.state + " from " + call.caller + " on " + call.line;
        }).join(". ");
      }
    }

    function render(data) {
      announce(data.calls);
      body.replaceChildren(callRows(data.calls));
      empty.hidden = data.calls.length > 0;
      openScreenPopOnce(data.pop_call_id, data.pop_url);
    }

    function tick() {
      fetch(source, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (!data) return;
          if (failures) status.textContent = "Updates every second";
          failures = 0;
          render(data);
        })
        .catch(function () {
          failures += 1;
          if (failures > 2) status.textContent = "Connection lost: retrying…";
        })
        .finally(function () { window.setTimeout(tick, 1000); });
    }
    openScreenPopOnce(initialPop, initialPopUrl);
    window.setTimeout(tick, 1000);
  }

  function formatCountdown(seconds) {
    var sign = seconds < 0 ? "-" : "";
    seconds = Math.abs(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + (h ? h + ":" + pad(m) : m) + ":" + pad(s);
  }

  /* Every [data-deadline] element counts down to its deadline, turning red once breached. */
  function countdowns(serverNow) {
    var nodes = Array.prototype.slice.call(document.querySelectorAll("[data-deadline]"));
    // Count with the server's clock: a coordinator's PC may be minutes off.
    var skew = serverNow ? Date.parse(serverNow) - Date.now() : 0;
    function update() {
      var now = Date.now() + skew;
      nodes.forEach(function (node) {
        var left = Math.round((Date.parse(node.getAttribute("data-deadline")) - now) / 1000);
        node.textContent = formatCountdown(left);
        node.classList.toggle("bad", left < 0);
        node.classList.toggle("warn", left >= 0 && left < 300);
        node.classList.toggle("good", left >= 300);
        node.setAttribute("aria-label", left < 0 ? "SLA breached " + formatCountdown(-left) + " ago" : formatCountdown(left) + " left");
      });
    }
    update();
    window.setInterval(update, 1000);
  }

  /* Tell the coordinator when the queue changes instead of reloading under her cursor. */
  function watchQueue(source, shownIds, total) {
    var shown = JSON.stringify(shownIds.slice().sort());
    var shownTotal = total;
    var note = el("p", { "class": "flash", "role": "status", "hidden": "" });
    var link = el("a", { "href": window.location.pathname }, "The queue has changed: refresh");
    note.appendChild(link);
    var main = document.querySelector("main");
    main.insertBefore(note, main.firstChild);
    window.setInterval(function () {
      fetch(source, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var ids = JSON.stringify(data.ids.slice(0, shownIds.length).sort());
          if (ids !== shown || data.open !== shownTotal) note.hidden = false;
        })
        .catch(function () {});
    }, 5000);
  }

  /* Show only the fieldsets of the chosen outcome (all stay visible without JavaScript). */
  function dispositionForm() {
    var form = document.getElementById("disposition-form");
    if (!form) return;
    var sections = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-for]"));
    var declined = form.querySelector("#caller_declined");
    function chosen() {
      var checked = form.querySelector("input[name=outcome]:checked");
      return checked ? checked.value : null;
    }
    function update() {
      var outcome = chosen();
      sections.forEach(function (section) {
        var wanted = section.getAttribute("data-for").split(" ");
        section.hidden = !outcome || wanted.indexOf(outcome) === -1;
      });
      var booking = form.querySelector("input[name=change_booking]:checked");
      var action = form.querySelector("input[name=change_action]:checked");
      Array.prototype.forEach.call(form.querySelectorAll(".move-target"), function (target) {
        target.hidden = !booking || target.getAttribute("data-booking") !== booking.value ||
          (action && action.value === "cancel");
      });
      Array.prototype.forEach.call(form.querySelectorAll(".cancel-reason"), function (box) {
        box.hidden = !action || action.value !== "cancel";
      });
      if (declined) {
        ["caller_name", "caller_phone", "caller_email"].forEach(function (id) {
          var input = form.querySelector("#" + id);
          if (input) input.disabled = declined.checked;
        });
      }
    }
    form.addEventListener("change", update);
    update();
  }

  /* On a screen-pop: follow the call's state; reload when it changes unless she is typing. */
  function watchCall(source, shown) {
    var badge = document.getElementById("call-state");
    var form = document.getElementById("disposition-form");
    var dirty = false;
    if (form) form.addEventListener("input", function () { dirty = true; });
    var timer = window.setInterval(function () {
      fetch(source, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          if (data.state === shown.state && data.outcome === shown.outcome) return;
          if (badge) {
            badge.textContent = data.state;
            badge.className = "badge " + BADGE[data.state];
          }
          var closedElsewhere = data.outcome && !shown.outcome;
          if (!dirty || closedElsewhere) { window.clearInterval(timer); window.location.reload(); }
          shown = data;
        })
        .catch(function () {});
    }, 2000);
  }

  /* Every console page but the live calls and a screen-pop (base.html): open the
     screen-pop of the call she takes as soon as she takes it. */
  function watchForMyCall(source) {
    window.setInterval(function () {
      fetch(source, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok && !r.redirected ? r.json() : null; })
        .then(function (data) { if (data) openScreenPopOnce(data.pop_call_id, data.pop_url); })
        .catch(function () {});
    }, 2000);
  }

  /* A read-only field whose whole value is to be copied (a new API token). */
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target && target.hasAttribute && target.hasAttribute("data-select-on-focus")) target.select();
  });

  /* On a phone the top bar's menu folds behind its "Menu" button (switchboard.css shows
     the button only there); Escape folds it again and gives the button back its focus
     (in the search box Escape only clears the box, as it does everywhere). */
  function topbarMenu() {
    var button = document.querySelector(".topbar .menu-toggle");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    var bar = button.parentNode;
    function setOpen(open) {
      bar.classList.toggle("menu-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    bar.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || event.target.tagName === "INPUT") return;
      if (!bar.classList.contains("menu-open")) return;
      setOpen(false);
      button.focus();
    });
  }

  var Switchboard = window.Switchboard = {
    watchForMyCall: watchForMyCall,
    screenPopShown: screenPopShown,
    watchCall: watchCall,
    liveCalls: liveCalls,
    countdowns: countdowns,
    watchQueue: watchQueue,
    dispositionForm: dispositionForm
  };

  /* Pages ask for their behaviour with JSON data blocks (the Content-Security-Policy allows
     no inline script): <script type="application/json" data-switchboard="liveCalls">[7]</script>
     runs Switchboard.liveCalls(7), in page order, once the page is parsed. */
  function boot() {
    topbarMenu();
    var blocks = document.querySelectorAll('script[type="application/json"][data-switchboard]');
    Array.prototype.forEach.call(blocks, function (block) {
      var name = block.getAttribute("data-switchboard");
      if (!Object.prototype.hasOwnProperty.call(Switchboard, name)) return;
      try {
        Switchboard[name].apply(null, JSON.parse(block.textContent || "[]"));
      } catch (error) {
        window.console.error("Switchboard." + name + " failed", error);  // the others still run
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
