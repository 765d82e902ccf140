// Flask Server Actions: the small part of the model that needs the browser.
// htmx does the requests and swaps; this file only keeps people informed:
// aria-busy while an action runs, the action's message read out after a swap,
// and a readable message when the server cannot be reached.
(function () {
  "use strict";

  var announcer = null;

  function getAnnouncer() {
    if (announcer && announcer.isConnected) return announcer;
    announcer = document.getElementById("sa-announcer");
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.id = "sa-announcer";
      announcer.className = "sa-visually-hidden";
      announcer.setAttribute("role", "status");
      announcer.setAttribute("aria-live", "polite");
      announcer.setAttribute("aria-atomic", "true");
      document.body.appendChild(announcer);
    }
    return announcer;
  }

  // A live region must be in the page before its text changes to be read out,
  // so it is made as soon as this (deferred) script runs, not at the first message.
  if (document.body) getAnnouncer();
  else document.addEventListener("DOMContentLoaded", getAnnouncer);

  // A live region only speaks when its text changes, so clear it first.
  function announce(message) {
    var region = getAnnouncer();
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function formOf(evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var source = ctx && ctx.sourceElement;
    return source && source.closest ? source.closest("form.sa-form") : null;
  }

  document.addEventListener("htmx:before:request", function (evt) {
    var form = formOf(evt);
    if (form) form.setAttribute("aria-busy", "true");
  });

  document.addEventListener("htmx:finally:request", function (evt) {
    var form = formOf(evt);
    if (form) form.removeAttribute("aria-busy");
  });

  // A submission key stands for one submission. Once the server has applied
  // one (a 2xx answer), a form that stays on the page (a button whose answer
  // only fills its status area) gets a fresh key, so the next click is a new
  // submission rather than a replay of the last one. Repeats sent while the
  // first was in flight still carry the old key, and the server writes once.
  function freshKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); })
      .join("");
  }

  document.addEventListener("htmx:after:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var status = ctx && ctx.response && ctx.response.status;
    var source = ctx && ctx.sourceElement;
    var form = source && source.closest ? source.closest("form") : null;
    if (!form || !(status >= 200 && status < 300)) return;
    var key = form.querySelector('input[name="_sa_key"]');
    if (key) key.value = freshKey();
  });

  // Search as you type without eval (a Content-Security-Policy forbids htmx's
  // trigger filters): a field with data-sa-min-length="3" lets a request that
  // typing triggered go only when the field is empty or has 3 characters or
  // more. An explicit submit always goes; the server answers short queries.
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var source = ctx && ctx.sourceElement;
    var trigger = ctx && ctx.sourceEvent;
    if (!source || !source.querySelectorAll || (trigger && trigger.type === "submit")) return;
    var fields = Array.prototype.slice.call(source.querySelectorAll("[data-sa-min-length]"));
    if (source.matches && source.matches("[data-sa-min-length]")) fields.push(source);
    for (var i = 0; i < fields.length; i++) {
      var length = (fields[i].value || "").trim().length;
      var min = parseInt(fields[i].getAttribute("data-sa-min-length"), 10) || 0;
      if (length > 0 && length < min) {
        evt.preventDefault();
        return;
      }
    }
  });

  // Elements named by hx-indicator (a search's results, say) are aria-busy
  // while any request they indicate is in flight. Counted, because with
  // hx-sync "replace" the aborted request ends after its successor began.
  var busyCounts = new WeakMap();

  function indicatorsOf(evt) {
    var ctx = evt.detail && evt.detail.ctx;
    return (ctx && ctx.indicators) || [];
  }

  document.addEventListener("htmx:before:request", function (evt) {
    indicatorsOf(evt).forEach(function (elt) {
      busyCounts.set(elt, (busyCounts.get(elt) || 0) + 1);
      elt.setAttribute("aria-busy", "true");
    });
  });

  document.addEventListener("htmx:finally:request", function (evt) {
    indicatorsOf(evt).forEach(function (elt) {
      var left = (busyCounts.get(elt) || 1) - 1;
      busyCounts.set(elt, left);
      if (left === 0) elt.removeAttribute("aria-busy");
    });
  });

  // htmx 4 gives "htmx:after:swap" the request's ctx ("htmx:after:settle" has
  // none). An outerHTML swap replaces the form, so the swapped-in one is found
  // again by its id. Out-of-band regions come in the same swap and say nothing.
  document.addEventListener("htmx:after:swap", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var source = ctx && ctx.sourceElement;
    var form = null;
    if (source && source.isConnected && source.closest) form = source.closest("form.sa-form");
    if (!form) {
      var target = ctx && ctx.target;
      var id = (source && source.id) || (target && target.id);
      var found = id ? document.getElementById(id) : null;
      if (found) form = found.closest ? found.closest("form.sa-form") || found : found;
    }
    if (!form) return;
    var status = form.matches(".sa-status") ? form : form.querySelector(".sa-status");
    if (status && status.textContent.trim()) announce(status.textContent.trim());
  });

  // The request never got an answer (offline, server down, timeout): the form
  // and what was typed stay as they are; say what happened in the form.
  document.addEventListener("htmx:error", function (evt) {
    var form = formOf(evt);
    var ctx = evt.detail && evt.detail.ctx;
    if (!form || (ctx && ctx.response)) return;
    var status = form.querySelector(".sa-status");
    var message = "The server could not be reached, so nothing was saved. " +
      "Your input is still here; please try again.";
    if (status) {
      status.textContent = message;
      status.className = "sa-status sa-status--error";
      status.setAttribute("role", "alert");
    }
    announce(message);
  });
})();
