// Flask Server Actions: the offline outbox (offline=True).
// Loaded by server-actions.js on pages that need it; it shares that script's
// helpers (window.serverActions).
(function () {
  "use strict";
  // Pages and tests can tell that it runs: window.serverActions.loaded.offline.
  if (window.serverActions) {
    (window.serverActions.loaded = window.serverActions.loaded || {}).offline = true;
  }

  var sa = window.serverActions;
  if (!sa) return;
  var announce = sa.announce;
  var formOf = sa.formOf;
  var freshKey = sa.freshKey;

  // The form's status area says what happened (and the page's announcer).
  function setStatus(form, message, failed) {
    var status = form.querySelector(".sa-status");
    if (status) {
      status.textContent = message;
      status.className = "sa-status " + (failed ? "sa-status--error" : "sa-status--ok");
      status.setAttribute("role", failed ? "alert" : "status");
    }
    announce(message);
  }

  // Requests an optional feature sends its own way (ctx.saTransport: upload
  // progress) or wraps (ctx.saWraps: the offline outbox) go through all of
  // them, whichever feature's script loaded first. The same function is in
  // server-actions-upload.js and server-actions-offline.js: the first to see
  // a request installs it (ctx.saLayered), so pages without either carry none.
  function sendVia(ctx) {
    if (ctx.saLayered) return;
    ctx.saLayered = true;
    var original = ctx.fetch;
    ctx.fetch = function (url, init) {
      var send = ctx.saTransport || original;
      (ctx.saWraps || []).forEach(function (wrap) { send = wrap(send); });
      return send(url, init);
    };
  }

  // Its styles come with it, first in <head> so a page's own rules win
  // (pages without an outbox download none of them).
  var me = document.currentScript;
  if (me && me.src) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = me.src.replace(/\.min\.js(\?.*)?$/, ".min.css");
    document.head.insertBefore(link, document.head.firstChild);
  }

  // Offline outbox. A form whose action has offline=True (data-sa-offline)
  // keeps a submission that cannot reach the server (offline, a network
  // error, a 503 with Retry-After) in IndexedDB: its fields, its files within
  // a cap, and its submission key. The form says so and keeps the input. The
  // submission goes again, with the same key, when the browser is back online,
  // on the next page load, or when Retry-After has passed; if the first
  // attempt had in fact been applied, the server replays its result, so it is
  // never written twice. Every kept submission is listed in a small panel,
  // with Send now and Discard: nothing kept is dropped silently.
  var OUTBOX_FLAG = "sa-outbox";
  var sending = {};
  var retryTimer = null;
  var failures = 0;

  function offlineWords(form) {
    try { return JSON.parse(form.getAttribute("data-sa-offline") || "null"); }
    catch (e) { return null; }
  }

  function outbox(mode, work) {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var opening = window.indexedDB.open("server-actions", 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore("outbox", { keyPath: "id" });
      };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var tx = db.transaction("outbox", mode);
        var request = work(tx.objectStore("outbox"));
        tx.oncomplete = function () { db.close(); resolve(request && request.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      };
    });
  }

  // Whose page this is: the owner mark (the signed-in user, else the browser
  // session) of its offline forms, else of its <body> (csrf_headers()), else
  // null.
  function pageOwner() {
    var form = document.querySelector("form[data-sa-offline]");
    var words = form && offlineWords(form);
    if (words && typeof words.owner === "string") return words.owner;
    return document.body ? document.body.getAttribute("data-sa-owner") : null;
  }

  // What this page's owner kept. On a shared computer, what someone else kept
  // (before signing out, or in a browser session since closed) is deleted
  // unsent and unshown: it is theirs, and never goes into this account. A page
  // that cannot tell who is here shows nothing.
  function allKept() {
    var owner = pageOwner();
    return outbox("readonly", function (store) { return store.getAll(); }).then(function (entries) {
      entries = entries || [];
      if (owner === null) return { mine: [], others: [], all: entries };
      var mine = [];
      var others = [];
      entries.forEach(function (entry) {
        (entry.words && entry.words.owner === owner ? mine : others).push(entry);
      });
      return { mine: mine, others: others, all: entries };
    }).then(function (found) {
      if (!found.others.length) return found;
      return outbox("readwrite", function (store) {
        found.others.forEach(function (entry) { store.delete(entry.id); });
      }).then(function () { found.all = found.mine; return found; });
    }).then(function (found) {
      try {
        if (found.all.length) window.localStorage.setItem(OUTBOX_FLAG, String(found.all.length));
        else window.localStorage.removeItem(OUTBOX_FLAG);
      } catch (e) { /* storage off: the panel still shows on offline forms' pages */ }
      return found.mine.sort(function (a, b) { return a.savedAt - b.savedAt; });
    });
  }

  function forget(id) {
    return outbox("readwrite", function (store) { return store.delete(id); })
      .then(allKept).then(showOutbox);
  }

  function describe(form, fields) {
    var button = form.querySelector("[type=submit] .sa-submit__idle") || form.querySelector("[type=submit]");
    var what = button ? button.textContent.trim() : form.id;
    for (var i = 0; i < fields.length; i++) {
      var input = form.elements.namedItem(fields[i][0]);
      if (typeof fields[i][1] === "string" && fields[i][1] && input && input.type !== "hidden" &&
          input.type !== "password" && fields[i][0].charAt(0) !== "_") {
        var text = fields[i][1].trim();
        return what + ": " + (text.length > 60 ? text.slice(0, 59) + "…" : text);
      }
    }
    return what;
  }

  function snapshot(form, ctx, words) {
    var fields = [];
    var files = 0;
    var key = null;
    ctx.request.body.forEach(function (value, name) {
      if (value instanceof Blob) files += value.size;
      if (name === "_sa_key") key = value;
      fields.push([name, value]);
    });
    if (files > (words.maxFiles || 0)) return null;
    return {
      // Kept under its submission key: sent twice while offline, kept once.
      id: key || freshKey(),
      url: ctx.request.action,
      formId: form.id,
      page: location.pathname + location.search,
      fields: fields,
      title: describe(form, fields),
      words: words,
      savedAt: Date.now(),
    };
  }

  function scheduleRetry(seconds) {
    if (retryTimer) window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(function () { retryTimer = null; sendKept(); }, seconds * 1000);
  }

  // The submission could not reach the server: keep it, say so, try later.
  function keep(ctx, form, entry, retryAfter) {
    ctx.saKept = true;
    var words = entry.words;
    return outbox("readwrite", function (store) { return store.put(entry); }).then(function () {
      // Other pages load this script when the flag is set: set it before
      // saying "kept", so a page opened next lists this submission.
      try { window.localStorage.setItem(OUTBOX_FLAG, "1"); } catch (e) { /* storage off */ }
      if (form.isConnected) setStatus(form, words.kept, false);
      else announce(words.kept);
      if (retryAfter) scheduleRetry(retryAfter);
      else if (navigator.onLine !== false) scheduleRetry(Math.min(60, 5 * Math.pow(2, failures++)));
      return allKept().then(showOutbox);
    }).then(function () {
      // No content: htmx swaps nothing; the form stays as it is.
      return new Response(null, { status: 204 });
    });
  }

  function pageToken(words) {
    var input = document.querySelector('input[name="' + words.csrfField + '"]');
    return input ? input.value : null;
  }

  // A token that expired while the submission waited: ask the page for a
  // fresh one, and put it in the page's forms too.
  function freshToken(entry) {
    return window.fetch(location.pathname + location.search, {
      headers: { Accept: "text/html" }, credentials: "same-origin",
    }).then(function (response) { return response.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var input = doc.querySelector('input[name="' + entry.words.csrfField + '"]');
      var token = input && input.value;
      if (!token) return null;
      document.querySelectorAll('input[name="' + entry.words.csrfField + '"]').forEach(function (el) {
        el.value = token;
      });
      var headers = document.body.getAttribute("hx-headers:inherited");
      if (headers) {
        try {
          var parsed = JSON.parse(headers);
          parsed[entry.words.csrfHeader] = token;
          document.body.setAttribute("hx-headers:inherited", JSON.stringify(parsed));
        } catch (e) { /* not ours */ }
      }
      return token;
    });
  }

  function withToken(init, entry, token) {
    if (!token) return;
    init.body.set(entry.words.csrfField, token);
    init.headers[entry.words.csrfHeader] = token;
  }

  function retryAfterOf(response) {
    var value = response.headers.get("Retry-After");
    var seconds = value ? parseInt(value, 10) : NaN;
    return isNaN(seconds) ? null : Math.max(1, seconds);
  }

  // How an offline form's request is sent: kept when it cannot reach the
  // server, and, for a kept one sent again, with a token that is still good.
  function keepIfUnreachable(ctx, form, entry, words, inner) {
    return function (url, init) {
      var kept = entry || snapshot(form, ctx, words);
      if (!kept) return inner(url, init);
      if (navigator.onLine === false) return keep(ctx, form, kept, null);
      if (entry) withToken(init, entry, pageToken(words));
      var attempt = function (refreshed) {
        return inner(url, init).then(function (response) {
          var wait = response.status === 503 ? retryAfterOf(response) : null;
          if (wait) return keep(ctx, form, kept, wait);
          if (entry && response.status === 400 && !refreshed) {
            // Most likely the token expired while it waited: once more, fresh.
            return freshToken(entry).then(function (token) {
              if (!token) return response;
              withToken(init, entry, token);
              return attempt(true);
            });
          }
          failures = 0;
          // An answer, whatever it says, is shown in the form: the
          // submission is no longer waiting.
          if (entry) return forget(entry.id).then(function () { return response; });
          return response;
        }, function (error) {
          if (error && error.name === "AbortError") throw error;
          return keep(ctx, form, kept, null);
        });
      };
      return attempt(false);
    };
  }

  // Submissions of offline forms (and kept ones sent again) go through here.
  document.addEventListener("htmx:before:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var form = formOf(evt);
    if (!form || evt.defaultPrevented) return;
    var words = offlineWords(form);
    var entry = ctx.saOutbox || null;
    if (!words && !entry) return;
    words = (entry && entry.words) || words;
    sendVia(ctx);
    ctx.saWraps = ctx.saWraps || [];
    ctx.saWraps.push(function (inner) {
      return keepIfUnreachable(ctx, form, entry, words, inner);
    });
  });

  // A kept submission sent again carries what was kept, not what the form
  // holds now.
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var entry = ctx && ctx.saOutbox;
    if (!entry) return;
    var body = new FormData();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    ctx.request.body = body;
  });

  // A kept submission's answer arrives while the user may be elsewhere on the
  // page: it takes the focus (autofocus on the first invalid field) only if
  // the focus was in its form.
  document.addEventListener("htmx:before:swap", function (evt) {
    var detail = evt.detail || {};
    var ctx = detail.ctx;
    if (!ctx || !ctx.saOutbox) return;
    var form = ctx.sourceElement;
    var active = document.activeElement;
    if (form && active && active !== document.body && form.contains(active)) return;
    (detail.tasks || []).forEach(function (task) {
      var fragment = task && task.fragment;
      if (!fragment || !fragment.querySelectorAll) return;
      Array.prototype.forEach.call(fragment.querySelectorAll("[autofocus]"), function (el) {
        el.removeAttribute("autofocus");
      });
    });
  });

  function formFor(entry) {
    var form = document.getElementById(entry.formId);
    return form && form.matches("form.sa-form") && form.getAttribute("hx-post") === entry.url ? form : null;
  }

  function sendOne(entry) {
    var form = formFor(entry);
    if (!form || sending[entry.id] || !window.htmx) return Promise.resolve();
    if (!entry.words || entry.words.owner !== pageOwner()) return Promise.resolve();
    sending[entry.id] = true;
    // Asked already, if the form asks (confirm=): not again.
    return window.htmx.ajax("POST", entry.url, { source: form, saOutbox: entry, confirm: null })
      .catch(function () { /* kept again, or shown by htmx */ })
      .then(function () { delete sending[entry.id]; });
  }

  function sendKept() {
    if (navigator.onLine === false) return Promise.resolve();
    return allKept().then(function (entries) {
      return entries.reduce(function (chain, entry) {
        return chain.then(function () { return sendOne(entry); });
      }, Promise.resolve());
    }).catch(function () { /* no IndexedDB: nothing was kept */ });
  }

  function showOutbox(entries) {
    var panel = document.getElementById("sa-outbox");
    if (!entries || !entries.length) {
      if (panel) panel.remove();
      return;
    }
    var words = entries[0].words;
    // The same submissions still waiting: leave the panel (and the button
    // under the user's pointer) as it is.
    var ids = entries.map(function (entry) { return entry.id; }).join(" ");
    if (panel && panel.getAttribute("data-sa-ids") === ids) return;
    if (!panel) {
      panel = document.createElement("section");
      panel.id = "sa-outbox";
      panel.className = "sa-outbox";
      panel.setAttribute("aria-labelledby", "sa-outbox-title");
      document.body.appendChild(panel);
    }
    panel.textContent = "";
    panel.setAttribute("data-sa-ids", ids);
    var title = document.createElement("h2");
    title.id = "sa-outbox-title";
    title.className = "sa-outbox__title";
    title.textContent = words.outbox + " (" + entries.length + ")";
    var list = document.createElement("ul");
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.className = "sa-outbox__item";
      var what = document.createElement("span");
      what.textContent = entry.title;
      item.appendChild(what);
      if (formFor(entry)) {
        var send = document.createElement("button");
        send.type = "button";
        send.textContent = entry.words.sendNow;
        send.addEventListener("click", function () { sendOne(entry); });
        item.appendChild(send);
      } else {
        var link = document.createElement("a");
        link.href = entry.page;
        link.textContent = entry.words.openPage;
        item.appendChild(link);
      }
      var discard = document.createElement("button");
      discard.type = "button";
      discard.textContent = entry.words.discard;
      discard.addEventListener("click", function () {
        forget(entry.id).then(function () { announce(entry.words.discarded); });
      });
      item.appendChild(discard);
      list.appendChild(item);
    });
    panel.appendChild(title);
    panel.appendChild(list);
  }

  // Only pages with an offline form, or while something is kept, open the outbox.
  function outboxWanted() {
    if (document.querySelector("form[data-sa-offline]")) return true;
    try { return !!window.localStorage.getItem(OUTBOX_FLAG); } catch (e) { return false; }
  }

  function startOutbox() {
    if (!outboxWanted()) return;
    allKept().then(function (entries) {
      showOutbox(entries);
      if (entries.length) sendKept();
    }).catch(function () { /* no IndexedDB here */ });
  }

  window.addEventListener("online", function () {
    failures = 0;
    if (outboxWanted()) sendKept();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startOutbox);
  else startOutbox();
})();
