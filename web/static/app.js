/*
 * Ticketflow agent UI: small behaviour that needs no framework.
 *
 * CSRF for htmx: every htmx request that changes something sends the token from
 * <meta name="csrf-token"> as the X-CSRFToken header, which Flask-WTF checks like the
 * hidden form field.  Loaded as a file, not inline, because the Content-Security-Policy
 * allows scripts from our own origin only.
 */
(function () {
  "use strict";

  var SAFE_METHODS = ["get", "head", "options"];

  document.addEventListener("htmx:configRequest", function (event) {
    var verb = String(event.detail.verb || "").toLowerCase();
    if (SAFE_METHODS.indexOf(verb) !== -1) {
      return;
    }
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRFToken"] = meta.content;
    }
  });

  // A refused form comes back as 422 with the form re-rendered (typed text and the errors
  // beside the fields); htmx 2 swaps no 4xx by default, so this one is let through.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Any other refusal of such a form (403, 404: nothing was written) is shown as the page
  // the server has for it: the form is sent again without htmx.
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-plain-on-error")) {
      HTMLFormElement.prototype.submit.call(form);
    }
  });
})();

/*
 * Busy buttons and showing blocked remote images (ticket view).
 */
(function () {
  "use strict";

  // The keyboard shortcuts ("/", "g i" and the rest) live in shortcuts.js.

  // A submitted form shows that it is working and cannot be sent twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") {
      return;
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      if (button.getAttribute("aria-busy") === "true") {
        event.preventDefault();
        return;
      }
      button.setAttribute("aria-busy", "true");
    }
    form.setAttribute("aria-busy", "true");
  });

  // htmx requests (the inbox refresh) mark their element busy while they run.
  document.addEventListener("htmx:beforeRequest", function (event) {
    event.target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    event.target.removeAttribute("aria-busy");
  });

  // Remote images: the page was loaded with ?images=1#article-N (the CSP of that response
  // allows https: images); copy data-remote-src to src for that one article only.  The
  // server resolved the address already (desk/article/html.py); it is parsed once more with
  // the browser's own URL parser, and only an absolute https address is loaded.
  function showImages(articleId) {
    var article = document.getElementById(articleId);
    if (!article) {
      return;
    }
    var images = article.querySelectorAll("img[data-remote-src]");
    for (var i = 0; i < images.length; i++) {
      var url;
      try {
        url = new URL(images[i].getAttribute("data-remote-src") || "");
      } catch (error) {
        continue;
      }
      if (url.protocol === "https:" && url.host) {
        images[i].setAttribute("src", url.href);
      }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-show-images]") : null;
    if (button) {
      showImages(button.getAttribute("data-show-images"));
    }
  });

  function onLoad() {
    var params = new URLSearchParams(window.location.search);
    var match = /^#(article-\d+)$/.exec(window.location.hash);
    if (params.get("images") === "1" && match) {
      showImages(match[1]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onLoad);
  } else {
    onLoad();
  }
})();

/* The process diagram on the ticket view: web/static/ticket.js (with the page's other behaviour). */

/*
 * The header's menu button (narrow screens): shown only when this script runs, it folds the
 * navigation, search, availability, account and language switch behind one button.  Without
 * JavaScript the button stays hidden and responsive.css shows the menu wrapped instead.
 */
(function () {
  "use strict";

  function setOpen(button, menu, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("app-menu--open", open);
  }

  function setUp() {
    var button = document.querySelector("[data-menu-button]");
    var menu = button ? document.getElementById(button.getAttribute("aria-controls")) : null;
    var header = button ? button.closest("header") : null;
    if (!button || !menu || !header) {
      return;
    }
    button.hidden = false;
    header.classList.add("app-header--collapsible");
    button.addEventListener("click", function () {
      setOpen(button, menu, button.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes the open menu and returns focus to its button.
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(button, menu, false);
        button.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
