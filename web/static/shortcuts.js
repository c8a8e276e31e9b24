/*
 * Keyboard shortcuts and the selection of list rows (issue 12: working faster).
 *
 * Pages declare their shortcuts: an element with data-hotkey="r" (several as "x,C", a
 * sequence as "g i") is activated by that key; one marked data-hotkey-fallback only when
 * nothing else on the page has the key.  Activating opens a <details> (or the
 * <details> around the element) and focuses its first field, focuses a field, or clicks a
 * link or button, or focuses the first field of a form; after an htmx request started that
 * way (or one that replaced the focused form), the first field of what came back is focused.  Built in: "?" opens the help (<dialog id="shortcut-help">, rendered by the
 * server in the agent's language), "/" the search box, j/k move through the rows of a list
 * ([data-list-nav] … [data-list-row], focusing the row's [data-row-link] so that Enter opens
 * it), x ticks the current row.  Nothing fires while the agent types in a field.
 *
 * Lists with a bulk bar (form#bulk-form; the rows' checkboxes carry data-bulk-item) get a
 * "select all" box (data-bulk-all), and the inbox's self-refresh waits while
 * rows are ticked, so a selection is not thrown away under the agent's hands.
 */
(function () {
  "use strict";

  var SEQUENCE_MS = 1500;
  var FIELDS = "textarea, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, input";

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function shown(element) {
    return element.getClientRects().length > 0;
  }

  function insideClosedDetails(element) {
    for (var node = element.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) {
        return true;
      }
    }
    return false;
  }

  function combos(element) {
    return (element.getAttribute("data-hotkey") || "")
      .split(",")
      .map(function (combo) {
        return combo.trim();
      })
      .filter(Boolean);
  }

  // The element for a typed sequence: a visible one first, else one in a closed <details>
  // (or a link of a folded menu); elements marked data-hotkey-fallback only when no other
  // element has the key (the ticket's lock gives way to claiming its task).
  function target(sequence) {
    var candidates = Array.prototype.filter.call(document.querySelectorAll("[data-hotkey]"), function (element) {
      return !element.disabled && combos(element).indexOf(sequence) !== -1;
    });
    var preferred = candidates.filter(function (element) {
      return !element.hasAttribute("data-hotkey-fallback");
    });
    return pick(preferred) || pick(candidates);
  }

  function pick(candidates) {
    var hidden = null;
    for (var i = 0; i < candidates.length; i++) {
      var element = candidates[i];
      if (shown(element) || element.tagName === "DETAILS") {
        return element;
      }
      if (!hidden && (insideClosedDetails(element) || (element.tagName === "A" && element.href))) {
        hidden = element;
      }
    }
    return hidden;
  }

  function prefixOfSome(key) {
    var candidates = document.querySelectorAll("[data-hotkey]");
    for (var i = 0; i < candidates.length; i++) {
      var list = combos(candidates[i]);
      for (var j = 0; j < list.length; j++) {
        if (list[j].indexOf(key + " ") === 0) {
          return true;
        }
      }
    }
    return false;
  }

  function focusField(container) {
    var field = container.querySelector(FIELDS);
    if (field) {
      field.focus();
      if (field.scrollIntoView) {
        field.scrollIntoView({ block: "center" });
      }
      return true;
    }
    return false;
  }

  var focusAfterSwap = false;

  function activate(element) {
    var details = element.tagName === "DETAILS" ? element : null;
    if (element.tagName === "SUMMARY") {
      details = element.parentElement;
    }
    for (var node = element.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") {
        node.open = true;
      }
    }
    if (details) {
      details.open = true;
      if (!focusField(details)) {
        details.querySelector("summary").focus();
      }
      return;
    }
    if (!element.matches("a, button, input, textarea, select, summary") && focusField(element)) {
      return; // a form or a section: its first field
    }
    if (element.matches("input, textarea, select")) {
      element.focus();
      if (element.scrollIntoView) {
        element.scrollIntoView({ block: "center" });
      }
      return;
    }
    if (element.tagName === "A" && element.href && !element.hasAttribute("hx-get")) {
      window.location.href = element.href;
      return;
    }
    focusAfterSwap = element.hasAttribute("hx-get") || element.hasAttribute("hx-post");
    element.click();
  }

  // A form swapped in by htmx (the action slot, a refused task form) takes the focus when
  // the focus was inside what got replaced, so the keyboard does not fall back to the top.
  var hadFocus = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var swapped = event.detail && event.detail.target;
    hadFocus = !!swapped && swapped.id !== "inbox-table" && swapped.contains(document.activeElement);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var swapped = event.detail && event.detail.target;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (swapped && (focusAfterSwap || (hadFocus && lost))) {
      focusField(swapped);
    }
    focusAfterSwap = false;
    hadFocus = false;
  });

  // j/k: the rows of the first list on the page.
  function rows() {
    var list = document.querySelector("[data-list-nav]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("[data-list-row]")) : [];
  }

  function moveRow(step) {
    var all = rows();
    if (!all.length) {
      return false;
    }
    var index = -1;
    for (var i = 0; i < all.length; i++) {
      if (all[i].contains(document.activeElement) || all[i].classList.contains("is-current")) {
        index = i;
        break;
      }
    }
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(index + step, 0), all.length - 1);
    all.forEach(function (row) {
      row.classList.remove("is-current");
    });
    all[next].classList.add("is-current");
    var link = all[next].querySelector("[data-row-link]") || all[next].querySelector("a");
    if (link) {
      link.focus();
    }
    return true;
  }

  function toggleCurrentRow() {
    var current = document.querySelector("[data-list-row].is-current [data-bulk-item]");
    if (!current) {
      return false;
    }
    current.checked = !current.checked;
    current.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function help() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog && dialog.showModal && !dialog.open) {
      dialog.showModal();
      return true;
    }
    return false;
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest ? event.target.closest("[data-close-dialog]") : null;
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) {
        dialog.close();
      }
    }
  });

  var pending = "";
  var pendingAt = 0;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || typing(event.target)) {
      return;
    }
    if (document.querySelector("dialog[open]")) {
      return; // the dialog has the keyboard (Escape closes it)
    }
    var key = event.key;
    if (!key || key.length !== 1) {
      return; // Enter, Tab and the arrows keep their own meaning
    }
    var sequence = pending && Date.now() - pendingAt < SEQUENCE_MS ? pending + " " + key : key;
    pending = "";
    var element = target(sequence);
    if (element) {
      event.preventDefault();
      activate(element);
      return;
    }
    if (sequence !== key) {
      element = target(key); // a started sequence that led nowhere: the key on its own
      if (element) {
        event.preventDefault();
        activate(element);
        return;
      }
    }
    if (prefixOfSome(key)) {
      pending = key;
      pendingAt = Date.now();
      return;
    }
    var done = false;
    if (key === "?") {
      done = help();
    } else if (key === "/") {
      var box = document.querySelector("main [data-search-box]") || document.querySelector("[data-search-box]");
      if (box) {
        box.focus();
        box.select();
        done = true;
      }
    } else if (key === "j") {
      done = moveRow(1);
    } else if (key === "k") {
      done = moveRow(-1);
    } else if (key === "x") {
      done = toggleCurrentRow();
    }
    if (done) {
      event.preventDefault();
    }
  });

  // --- the bulk bar -------------------------------------------------------------------

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-bulk-item]"));
  }

  function syncSelectAll() {
    var checked = items().filter(function (box) {
      return box.checked;
    }).length;
    var all = document.querySelectorAll("[data-bulk-all]");
    for (var i = 0; i < all.length; i++) {
      all[i].checked = checked > 0 && checked === items().length;
      all[i].indeterminate = checked > 0 && checked < items().length;
    }
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || !box.matches) {
      return;
    }
    if (box.matches("[data-bulk-all]")) {
      items().forEach(function (item) {
        item.checked = box.checked;
      });
    }
    if (box.matches("[data-bulk-all], [data-bulk-item]")) {
      syncSelectAll();
    }
  });

  // The inbox reloads its table every 30 s; not while rows are ticked.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (source && source.id === "inbox-table" && source.querySelector("[data-bulk-item]:checked")) {
      event.preventDefault();
    }
  });
})();
