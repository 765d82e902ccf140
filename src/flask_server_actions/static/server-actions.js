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

  // A validation check (a field asking the server while the user types) is
  // not a submission: it marks nothing busy, changes no key, says nothing.
  function isCheck(ctx) {
    var headers = ctx && ctx.request && ctx.request.headers;
    return !!(headers && headers["SA-Validate"] !== undefined);
  }

  function formOf(evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (isCheck(ctx)) return null;
    var source = ctx && ctx.sourceElement;
    return source && source.closest ? source.closest("form.sa-form, form.sa-button-form") : null;
  }

  // hx-disable disables the pressed button in flight, which drops focus to
  // <body>; when the form stays (a button's answer fills its status area),
  // focus goes back to it once it is enabled again.
  document.addEventListener("htmx:before:request", function (evt) {
    var form = formOf(evt);
    if (!form) return;
    form.setAttribute("aria-busy", "true");
    form.saFocus = form.contains(document.activeElement) ? document.activeElement : null;
  });

  document.addEventListener("htmx:finally:request", function (evt) {
    var form = formOf(evt);
    if (!form) return;
    form.removeAttribute("aria-busy");
    var had = form.saFocus;
    form.saFocus = null;
    if (had) window.setTimeout(function () {
      var now = document.activeElement;
      if (had.isConnected && (!now || now === document.body)) had.focus();
    }, 0);
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
    if (!form || isCheck(ctx) || ctx.saKept || !(status >= 200 && status < 300)) return;
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
    if (isCheck(ctx)) return [];
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
    if (isCheck(ctx) || (ctx && ctx.saKept)) return;
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

  // Shared with the toolkit's optional scripts (validation, uploads, outbox).
  window.serverActions = {
    announce: announce,
    formOf: formOf,
    freshKey: freshKey,
    isCheck: isCheck,
  };

  // A morph (live regions, swap="morph") keeps what the user is doing; htmx
  // keeps input values and focus, and this keeps a <details> the user opened
  // or closed as it is: its "open" attribute is the user's, not the server's.
  function keepUserState() {
    if (!window.htmx || !htmx.registerExtension) return;
    htmx.registerExtension("sa-user-state", {
      htmx_before_morph_attr: function (elt, detail) {
        if (detail.attrName === "open" && elt.tagName === "DETAILS") return false;
      },
    });
  }
  if (window.htmx) keepUserState();
  else document.addEventListener("DOMContentLoaded", keepUserState);

  // Scripts for features a page may not use load only on pages that use them,
  // each where the markup of NEEDS is. They sit beside this script
  // (server-actions-<feature>.min.js), so every page need not list them.
  var NEEDS = {
    optimistic: "[data-sa-optimistic]",
    live: "[data-sa-live]",
    validate: "[data-sa-validate]",
    upload: "form[data-sa-max-body]",
    // Also wherever something is kept, to list it and send it from there.
    offline: function (root) {
      if (root.querySelector && root.querySelector("form[data-sa-offline]")) return true;
      try { return root === document && !!window.localStorage.getItem("sa-outbox"); }
      catch (e) { return false; }
    },
  };
  var me = document.currentScript;
  var folder = me && me.src ? me.src.replace(/[^\/]*$/, "") : null;
  var loaded = {};

  function loadWhatIsNeeded(root) {
    if (!folder) return;
    Object.keys(NEEDS).forEach(function (name) {
      var selector = NEEDS[name];
      if (loaded[name] || !selector || !root.querySelector) return;
      if (typeof selector === "function") {
        if (!selector(root)) return;
      } else if (!(root.matches && root.matches(selector)) && !root.querySelector(selector)) {
        return;
      }
      loaded[name] = true;
      var script = document.createElement("script");
      script.src = folder + "server-actions-" + name + ".min.js";
      document.head.appendChild(script);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { loadWhatIsNeeded(document); });
  } else {
    loadWhatIsNeeded(document);
  }
  // Markup that arrives later (a swapped region with an optimistic form).
  document.addEventListener("htmx:after:swap", function (evt) {
    var target = evt.detail && evt.detail.ctx && evt.detail.ctx.target;
    loadWhatIsNeeded(target && target.isConnected ? target : document);
  });
})();
