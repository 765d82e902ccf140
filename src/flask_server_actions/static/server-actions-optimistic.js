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
// A new item goes where the template says: before the first item of the list
// whose data-sa-sort key sorts after its own (data-sa-sort / data-sa-sort-by
// on the template), or at a named [data-sa-slot] marker, else at an edge.
// The errors of the previous submit (the form's status message, aria-invalid
// fields, their error lists) are hidden while the request is in flight and
// come back if it fails without the server answering with a new form.
(function () {
  "use strict";
  // Pages and tests can tell that it runs: window.serverActions.loaded.optimistic.
  if (window.serverActions) {
    (window.serverActions.loaded = window.serverActions.loaded || {}).optimistic = true;
  }

  var KEY = "saOptimistic";

  // Its styles come with it, first in <head> so a page's own rules win.
  var me = document.currentScript;
  if (me && me.src) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = me.src.replace(/\.min\.js(\?.*)?$/, ".min.css");
    document.head.insertBefore(link, document.head.firstChild);
  }

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

  var NUMBER = /^-?\d+(\.\d+)?$/;

  function compareKeys(a, b) {
    if (NUMBER.test(a) && NUMBER.test(b)) return Number(a) - Number(b);
    return a.localeCompare(b);
  }

  // Put ``item`` into ``into`` as the template says: by sort key, at a slot,
  // or at the ``insert`` position. With a sort key, ``insert`` says where it
  // goes among items of an equal key: first ("afterbegin") or last.
  function place(item, into, template, body) {
    var insert = template.getAttribute("data-sa-insert") || "beforeend";
    var slotName = template.getAttribute("data-sa-slot");
    if (slotName) {
      var slots = into.querySelectorAll("[data-sa-slot]");
      for (var s = 0; s < slots.length; s++) {
        if (slots[s].getAttribute("data-sa-slot") === slotName) {
          slots[s].insertAdjacentElement(insert, item);
          return;
        }
      }
    }
    var sortBy = template.getAttribute("data-sa-sort-by");
    var key = sortBy ? bodyValue(body, sortBy) : template.getAttribute("data-sa-sort");
    if (key !== null && key !== undefined) {
      var sorted = Array.prototype.filter.call(into.children, function (child) {
        return child.hasAttribute("data-sa-sort") && child !== item;
      });
      for (var i = 0; i < sorted.length; i++) {
        var order = compareKeys(sorted[i].getAttribute("data-sa-sort"), key);
        if (order > 0 || (order === 0 && insert === "afterbegin")) {
          sorted[i].insertAdjacentElement("beforebegin", item);
          return;
        }
      }
      if (sorted.length) {
        sorted[sorted.length - 1].insertAdjacentElement("afterend", item);
        return;
      }
    }
    into.insertAdjacentElement(insert, item);
  }

  // Hide what the previous submit said was wrong; give back how to restore it.
  function hideStaleErrors(form) {
    var hidden = { status: null, fields: [], lists: [], wrappers: [] };
    var status = form.id && document.getElementById(form.id + "-status");
    if (status && status.classList.contains("sa-status--error")) {
      hidden.status = {
        element: status,
        nodes: Array.prototype.slice.call(status.childNodes),
        role: status.getAttribute("role"),
      };
      status.replaceChildren();
      status.classList.remove("sa-status--error");
      status.setAttribute("role", "status");
    }
    form.querySelectorAll("[aria-invalid=true]").forEach(function (field) {
      hidden.fields.push({ element: field, describedBy: field.getAttribute("aria-describedby") });
      field.removeAttribute("aria-invalid");
      var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
        var described = id && document.getElementById(id);
        return described && !described.classList.contains("sa-errors");
      });
      if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    form.querySelectorAll(".sa-errors").forEach(function (list) {
      if (!list.hidden) {
        hidden.lists.push(list);
        list.hidden = true;
      }
    });
    form.querySelectorAll(".sa-field--invalid").forEach(function (wrapper) {
      hidden.wrappers.push(wrapper);
      wrapper.classList.remove("sa-field--invalid");
    });
    return hidden;
  }

  // After a failure: put the old errors back where the server did not answer
  // with new ones (a new form, or a new status area, replaces them).
  function restoreStaleErrors(hidden) {
    var status = hidden.status;
    if (status && status.element.isConnected && !status.element.textContent) {
      status.element.replaceChildren.apply(status.element, status.nodes);
      status.element.classList.add("sa-status--error");
      if (status.role) status.element.setAttribute("role", status.role);
    }
    hidden.fields.forEach(function (field) {
      if (!field.element.isConnected) return;
      field.element.setAttribute("aria-invalid", "true");
      if (field.describedBy) field.element.setAttribute("aria-describedby", field.describedBy);
    });
    hidden.lists.forEach(function (list) {
      list.hidden = false;
    });
    hidden.wrappers.forEach(function (wrapper) {
      wrapper.classList.add("sa-field--invalid");
    });
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
    place(item, into, template, body);
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
    if (record) {
      record.stale = hideStaleErrors(form);
      ctx[KEY] = record;
    }
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
    // A submission kept for later (offline) was not applied: put things back.
    if (status >= 200 && status < 400 && !ctx.saKept) {
      settle(record);
    } else {
      undo(record);
      if (record.stale) restoreStaleErrors(record.stale);
    }
    restoreFocus(record);
  });
})();
