// Flask Server Actions: validation while typing (field(…, validate="change")).
// Loaded by server-actions.js on pages that need it; it shares that script's
// helpers (window.serverActions).
(function () {
  "use strict";
  // Pages and tests can tell that it runs: window.serverActions.loaded.validate.
  if (window.serverActions) {
    (window.serverActions.loaded = window.serverActions.loaded || {}).validate = true;
  }

  var sa = window.serverActions;
  if (!sa) return;
  var announce = sa.announce;
  var isCheck = sa.isCheck;

  // Validation while typing. A field rendered with validate="change" posts its
  // form to the action with SA-Validate naming the fields touched so far
  // (htmx: debounced, hx-sync replace, hx-swap none). The server validates
  // those and answers their error lists; each goes where a submit would put
  // it, with aria-invalid and aria-describedby as after a submit. The input is
  // never replaced and focus never moves; a new error is announced once.
  var touched = new WeakMap();

  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var source = ctx && ctx.sourceElement;
    if (!source || !source.hasAttribute || !source.hasAttribute("data-sa-validate")) return;
    var form = source.form;
    if (!form || !source.name) return;
    var names = touched.get(form) || [];
    if (names.indexOf(source.name) < 0) names.push(source.name);
    touched.set(form, names);
    ctx.request.headers["SA-Validate"] = names.join(",");
  });

  function showChecked(form, list) {
    var name = list.getAttribute("data-sa-field");
    list.removeAttribute("data-sa-field");
    var inputs = Array.prototype.filter.call(form.elements, function (e) { return e.name === name; });
    var wrapper = inputs.length && inputs[0].closest(".sa-field");
    if (!wrapper) return "";
    var errorId = list.id;
    var old = document.getElementById(errorId);
    var before = old ? old.textContent : "";
    var invalid = list.children.length > 0;
    if (old) old.remove();
    if (invalid) wrapper.appendChild(list);
    wrapper.classList.toggle("sa-field--invalid", invalid);
    inputs.forEach(function (input) {
      if (invalid) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && id !== errorId; });
      if (invalid) ids.push(errorId);
      if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
      else input.removeAttribute("aria-describedby");
    });
    var now = invalid ? list.textContent : "";
    return now !== before ? Array.prototype.map.call(list.children, function (li) {
      return li.textContent;
    }).join(" ") : "";
  }

  document.addEventListener("htmx:after:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (!isCheck(ctx)) return;
    var source = ctx.sourceElement;
    // A refused check (an expired form, too many checks) shows nothing: the
    // submit says why. A check whose field has gone (the form was submitted
    // and swapped) lands nowhere.
    if (!source || !source.isConnected || !source.form) return;
    if (!ctx.response || ctx.response.status !== 200) return;
    var holder = document.createElement("template");
    holder.innerHTML = ctx.text || "";
    var said = [];
    Array.prototype.forEach.call(holder.content.querySelectorAll("ul[data-sa-field]"), function (list) {
      var message = showChecked(source.form, list);
      if (message) said.push(message);
    });
    if (said.length) announce(said.join(" "));
  });
})();
