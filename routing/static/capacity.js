/* The capacity view of an ETA picker (templates/console/_capacity.html): choosing a day
   shows its load; a full day offers the nearest days with room and asks for a reason to
   choose it anyway. Progressive enhancement: the server checks the same on submit. */
(function () {
  "use strict";
  if (window.SwitchboardCapacity) return;
  window.SwitchboardCapacity = { version: 1 };

  var DAY = /^\d{4}-\d{2}-\d{2}$/;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function dayOf(value) { return (value || "").trim().slice(0, 10); }

  function picker(box) {
    var dateInput = document.getElementById(box.getAttribute("data-date-input"));
    var reason = document.getElementById(box.getAttribute("data-reason-input"));
    var override = box.querySelector(".capacity-override");
    var status = box.querySelector(".capacity-status");
    var source = box.getAttribute("data-source");
    var job = box.getAttribute("data-job");
    var currentDay = box.getAttribute("data-current-day") || "";
    if (!dateInput || !reason || !override || !status) return;
    var asked = null;

    function mark(day) {
      Array.prototype.forEach.call(box.querySelectorAll(".capacity-day"), function (button) {
        var chosen = button.getAttribute("data-date") === day;
        button.classList.toggle("chosen", chosen);
        button.setAttribute("aria-pressed", chosen ? "true" : "false");
      });
    }

    function room() {
      override.hidden = true;
      reason.required = false;
      reason.removeAttribute("aria-invalid");
    }

    function render(data) {
      var day = data.day;
      status.replaceChildren();
      if (day.capacity === null || day.booked < day.capacity) {
        var text = day.label + ": " + day.booked + " booked" +
          (day.capacity === null ? " (no limit)" : " of " + day.capacity + ", room for " + day.free);
        status.appendChild(el("p", { "class": "muted capacity-room" }, text));
        room();
        return;
      }
      var why = day.capacity === 0 ? day.label + " takes no deliveries." :
        day.label + " is fully booked (" + day.booked + " of " + day.capacity + ").";
      status.appendChild(el("p", { "class": "field-error capacity-refused", "role": "alert" }, why));
      var offer = el("p", { "class": "capacity-alternatives" },
        data.alternatives.length ? "Days with room: " : "No later day has room soon.");
      data.alternatives.forEach(function (alt) {
        offer.appendChild(el("button", { "type": "button", "class": "capacity-alternative", "data-date": alt.date }, alt.label));
        offer.appendChild(document.createTextNode(" "));
      });
      status.appendChild(offer);
      override.hidden = false;
      reason.required = true;
    }

    function check() {
      var day = dayOf(dateInput.value);
      mark(day);
      if (!DAY.test(day) || day === currentDay) {
        if (day === currentDay) { status.replaceChildren(); room(); }
        return;
      }
      if (day === asked) return;
      asked = day;
      var url = source + "?date=" + encodeURIComponent(day) + (job ? "&job=" + encodeURIComponent(job) : "");
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok && !r.redirected ? r.json() : null; })
        .then(function (data) { if (data && dayOf(dateInput.value) === day) render(data); })
        .catch(function () { asked = null; });
    }

    function choose(day) {
      // A free-text ETA ("2026-12-10T14:00") keeps its time; a date input takes the day.
      var rest = dateInput.type === "date" ? "" : dayOf(dateInput.value).length === 10 ? dateInput.value.trim().slice(10) : "";
      dateInput.value = day + rest;
      dateInput.dispatchEvent(new Event("change", { bubbles: true }));
      dateInput.focus();
    }

    box.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".capacity-day, .capacity-alternative") : null;
      if (!button || !box.contains(button)) return;
      event.preventDefault();
      choose(button.getAttribute("data-date") || button.value);
    });
    dateInput.addEventListener("change", check);
    dateInput.addEventListener("input", function () { window.setTimeout(check, 300); });
    if (dateInput.value) check();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-capacity]"), picker);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
