// Flask Server Actions: optimistic updates (the seed's useOptimistic).
//
// A form or button form with data-sa-optimistic changes the page the moment its
// request leaves, and the server's answer decides what stays:
//   * "<template id>": a new item built from an optimistic_template, inserted
//     into the list, its [data-sa-value] placeholders filled with the submitted
//     values as text (never parsed as HTML); the fields it shows are emptied.
//   * "toggle": the nearest [data-sa-item] toggles data-sa-optimistic-class.
//   * "remove": the nearest [data-sa-item] is struck out and marked
//     "Deleting…" until the answer comes.
// Every optimistic element is marked pending (class sa-optimistic, aria-busy,
// a short note such as "Saving…"). When the request ends the mark goes: on
// success the server's fragment (a revalidated region) has already replaced
// the list, on failure everything is undone and the emptied fields get their
// text back, unless the server's form (with the input kept) already did.
(function () {
  "use strict";

  var KEY = "saOptimistic";

  function optimisticForm(ctx) {
    var source = ctx && ctx.sourceElement;
    if (!source || !source.closest) return null;
    return source.closest("form[data-sa-optimistic]");
  }

  function bodyValue(body, name) {
    if (!body || typeof body.get !== "function") return "";
    var value = body.get(name);
    return typeof value === "string" ? value : "";
  }

  function markPending(element, note) {
    element.classList.add("sa-optimistic");
    element.setAttribute("aria-busy", "true");
    var label = document.createElement("span");
    label.className = "sa-optimistic__note";
    label.textContent = note;
    element.appendChild(label);
    return label;
  }

  function unmarkPending(record) {
    var element = record.item;
    element.classList.remove("sa-optimistic", "sa-optimistic--removing");
    element.removeAttribute("aria-busy");
    if (record.note && record.note.parentNode) record.note.remove();
  }

  function flipPressed(form) {
    var button = form.querySelector("[aria-pressed]");
    if (!button) return;
    var pressed = button.getAttribute("aria-pressed") === "true";
    button.setAttribute("aria-pressed", pressed ? "false" : "true");
  }

  function insertFromTemplate(form, template, body) {
    var into = document.querySelector(template.getAttribute("data-sa-into"));
    var root = template.content.firstElementChild;
    if (!into || !root) return null;
    var item = root.cloneNode(true);
    var placeholders = Array.prototype.slice.call(item.querySelectorAll("[data-sa-value]"));
    if (item.hasAttribute("data-sa-value")) placeholders.push(item);
    var names = [];
    placeholders.forEach(function (element) {
      var name = element.getAttribute("data-sa-value");
      element.textContent = bodyValue(body, name); // text only: XSS-safe
      if (names.indexOf(name) < 0) names.push(name);
    });
    var note = markPending(item, form.getAttribute("data-sa-optimistic-pending") ||
      template.getAttribute("data-sa-pending") || "Saving…");
    into.insertAdjacentElement(template.getAttribute("data-sa-insert") || "beforeend", item);
    // The request body is already built, so emptying the fields now loses
    // nothing; they come back if the action fails.
    var cleared = {};
    names.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && "value" in field && field.type !== "hidden") {
        cleared[name] = field.value;
        field.value = "";
      }
    });
    return { item: item, note: note, inserted: true, cleared: cleared };
  }

  // Whether focus was in the form when it was submitted, read before htmx
  // disables its button (a disabled button can lose focus).
  var focusedWhenSent = new WeakMap();
  document.addEventListener("htmx:config:request", function (evt) {
    var form = optimisticForm(evt.detail && evt.detail.ctx);
    if (form) focusedWhenSent.set(form, form.contains(document.activeElement));
  });

  function itemIdNear(item, direction) {
    var sibling = item[direction];
    while (sibling && !(sibling.hasAttribute && sibling.hasAttribute("data-sa-item") && sibling.id)) {
      sibling = sibling[direction];
    }
    return sibling ? sibling.id : null;
  }

  // A revalidated region replaces the button that had focus; put focus on
  // the same button in the new markup (or, if its item is gone, on a
  // neighbour's), so keyboard users are not thrown back to the top.
  function restoreFocus(record) {
    if (!record.hadFocus) return;
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    var candidates = [record.form.id].concat(record.neighbours || []);
    for (var i = 0; i < candidates.length; i++) {
      var found = candidates[i] && document.getElementById(candidates[i]);
      var button = found && found.querySelector("[type=submit], button");
      if (button) {
        button.focus();
        return;
      }
    }
  }

  document.addEventListener("htmx:before:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var form = optimisticForm(ctx);
    if (!form) return;
    var kind = form.getAttribute("data-sa-optimistic");
    var record = null;
    if (kind === "toggle" || kind === "remove") {
      var item = form.closest("[data-sa-item]") || form;
      var css = form.getAttribute("data-sa-optimistic-class");
      var defaultNote = kind === "remove" ? "Deleting…" : "Saving…";
      record = { item: item, kind: kind, css: css, form: form };
      record.hadFocus = focusedWhenSent.get(form) === true;
      record.neighbours = [itemIdNear(item, "nextElementSibling"),
        itemIdNear(item, "previousElementSibling")];
      if (kind === "toggle" && css) item.classList.toggle(css);
      if (kind === "toggle") flipPressed(form);
      if (kind === "remove") item.classList.add("sa-optimistic--removing");
      record.note = markPending(item, form.getAttribute("data-sa-optimistic-pending") || defaultNote);
    } else {
      var template = document.getElementById(kind);
      if (template && template.content) {
        record = insertFromTemplate(form, template, ctx.request && ctx.request.body);
        if (record) record.form = form;
      }
    }
    if (record) ctx[KEY] = record;
  });

  // Just before the answer is swapped in: what did the user type meanwhile
  // into the fields we emptied? (The server's fresh form would wipe it.)
  document.addEventListener("htmx:before:swap", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var record = ctx && ctx[KEY];
    if (!record || !record.cleared) return;
    record.typed = {};
    Object.keys(record.cleared).forEach(function (name) {
      var field = record.form.elements.namedItem(name);
      if (field && field.value) record.typed[name] = field.value;
    });
  });

  function undo(record) {
    if (record.inserted) {
      record.item.remove();
    } else {
      if (record.kind === "toggle" && record.css) record.item.classList.toggle(record.css);
      if (record.kind === "toggle" && record.form.isConnected) flipPressed(record.form);
      unmarkPending(record);
    }
    // The server's form (with the input kept) may have replaced this one; if
    // not (no answer, or only a message came back), put the text back.
    if (record.cleared && record.form.isConnected) {
      Object.keys(record.cleared).forEach(function (name) {
        var field = record.form.elements.namedItem(name);
        if (field && !field.value) field.value = record.cleared[name];
      });
    }
  }

  function settle(record) {
    if (record.inserted || record.kind === "remove") {
      // The server's fragment holds the real item now (or none, if deleted).
      if (record.item.isConnected) record.item.remove();
    } else {
      unmarkPending(record);
    }
    if (record.typed && record.form.id) {
      var fresh = document.getElementById(record.form.id);
      Object.keys(record.typed).forEach(function (name) {
        var field = fresh && fresh.elements && fresh.elements.namedItem(name);
        if (field && !field.value) field.value = record.typed[name];
      });
    }
  }

  document.addEventListener("htmx:finally:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var record = ctx && ctx[KEY];
    if (!record) return;
    delete ctx[KEY];
    var status = ctx.response ? ctx.response.status : 0;
    if (status >= 200 && status < 400) settle(record);
    else undo(record);
    restoreFocus(record);
  });
})();
