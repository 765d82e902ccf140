// Flask Server Actions: upload progress, and the body limit checked before sending.
// Loaded by server-actions.js on pages that need it; it shares that script's
// helpers (window.serverActions).
(function () {
  "use strict";
  // Pages and tests can tell that it runs: window.serverActions.loaded.upload.
  if (window.serverActions) {
    (window.serverActions.loaded = window.serverActions.loaded || {}).upload = true;
  }

  var sa = window.serverActions;
  if (!sa) return;
  var announce = sa.announce;
  var formOf = sa.formOf;

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
  // (pages without uploads download none of them).
  var me = document.currentScript;
  if (me && me.src) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = me.src.replace(/\.min\.js(\?.*)?$/, ".min.css");
    document.head.insertBefore(link, document.head.firstChild);
  }

  // Upload progress. htmx 4 sends with fetch, which reports no upload
  // progress, so a form that sends files goes through XMLHttpRequest instead
  // (htmx lets a request bring its own fetch, ctx.fetch: here ctx.saTransport,
  // see sendVia). Everything else, the swap, out-of-band regions and events,
  // stays htmx's own. Before
  // anything is sent, the body is held against the action's limit, with the
  // server's own sentence; Cancel aborts, and the form and the file stay.
  function bodySize(body) {
    var size = 0;
    var files = false;
    body.forEach(function (value, name) {
      size += name.length;
      if (value instanceof File) {
        size += value.size;
        if (value.size) files = true;
      } else {
        size += String(value).length;
      }
    });
    return files ? size : -1;
  }

  function responseHeaders(xhr) {
    var headers = new Headers();
    (xhr.getAllResponseHeaders() || "").trim().split(/[\r\n]+/).forEach(function (line) {
      var at = line.indexOf(":");
      if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
    });
    return headers;
  }

  function showProgress(form, abort) {
    var group = document.createElement("div");
    group.className = "sa-upload";
    var id = (form.id || "sa-form") + "-upload";
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = form.getAttribute("data-sa-upload-label") || "";
    var bar = document.createElement("progress");
    bar.id = id;
    bar.max = 100;
    bar.value = 0;
    var percent = document.createElement("span");
    percent.className = "sa-upload__percent";
    percent.setAttribute("aria-hidden", "true");
    percent.textContent = "0%";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "sa-upload__cancel";
    cancel.textContent = form.getAttribute("data-sa-upload-cancel") || "Cancel";
    cancel.addEventListener("click", function () {
      group.setAttribute("data-sa-cancelled", "");
      abort();
      // The button goes with the bar: the focus goes to the file, still chosen.
      var file = form.querySelector("input[type=file]");
      if (file) file.focus();
    });
    group.appendChild(label);
    group.appendChild(bar);
    group.appendChild(percent);
    group.appendChild(cancel);
    var status = form.querySelector(".sa-status");
    if (status && status.nextSibling) form.insertBefore(group, status.nextSibling);
    else form.appendChild(group);
    return {
      group: group,
      update: function (loaded, total) {
        var value = total ? Math.floor((loaded / total) * 100) : 0;
        if (value === bar.value) return;
        bar.value = value;
        bar.textContent = value + "%";
        percent.textContent = value + "%";
      },
    };
  }

  function sendWithProgress(form, url, init) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var progress = null;
      var finish = function () { if (progress) progress.group.remove(); };
      xhr.open(init.method || "POST", url);
      Object.keys(init.headers || {}).forEach(function (name) {
        xhr.setRequestHeader(name, init.headers[name]);
      });
      progress = showProgress(form, function () { init.abort ? init.abort() : xhr.abort(); });
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) progress.update(e.loaded, e.total);
      });
      // Sent: from here on, the usual pending state while the server works.
      xhr.upload.addEventListener("load", function () {
        progress.update(1, 1);
        finish();
      });
      xhr.addEventListener("load", function () {
        finish();
        var empty = xhr.status === 204 || xhr.status === 205 || xhr.status === 304;
        resolve(new Response(empty ? null : xhr.responseText, {
          status: xhr.status,
          statusText: xhr.statusText,
          headers: responseHeaders(xhr),
        }));
      });
      xhr.addEventListener("error", function () {
        finish();
        reject(new TypeError("Failed to fetch"));
      });
      xhr.addEventListener("abort", function () {
        var cancelled = progress && progress.group.hasAttribute("data-sa-cancelled");
        finish();
        if (cancelled) setStatus(form, form.getAttribute("data-sa-upload-cancelled") || "", true);
        reject(new DOMException("The upload was aborted.", "AbortError"));
      });
      if (init.signal) {
        if (init.signal.aborted) { xhr.abort(); return; }
        init.signal.addEventListener("abort", function () { xhr.abort(); });
      }
      xhr.send(init.body);
    });
  }

  document.addEventListener("htmx:before:request", function (evt) {
    var form = formOf(evt);
    var ctx = evt.detail && evt.detail.ctx;
    if (!form || !form.hasAttribute("data-sa-max-body")) return;
    var body = ctx.request && ctx.request.body;
    if (!(body instanceof FormData)) return;
    var size = bodySize(body);
    if (size < 0) return; // no file chosen: fetch it is, as for any form
    var limit = parseInt(form.getAttribute("data-sa-max-body"), 10);
    if (limit && size > limit) {
      evt.preventDefault();
      setStatus(form, form.getAttribute("data-sa-too-large") || "", true);
      return;
    }
    sendVia(ctx);
    ctx.saTransport = function (url, init) { return sendWithProgress(form, url, init); };
  });
})();
