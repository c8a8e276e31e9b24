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
})();

/*
 * Keyboard shortcuts, busy buttons and showing blocked remote images (ticket view).
 */
(function () {
  "use strict";

  function typing(target) {
    if (!target) {
      return false;
    }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // "/" focuses the search box; "g" then "i" goes to the inbox.
  var pendingG = 0;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (event.key === "/") {
      var box = document.querySelector("main [data-search-box]") || document.querySelector("[data-search-box]");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
      return;
    }
    if (event.key === "g") {
      pendingG = Date.now();
      return;
    }
    if (event.key === "i" && pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      var inbox = document.querySelector('[data-hotkey="g i"]');
      if (inbox) {
        window.location.href = inbox.href;
      }
      return;
    }
    pendingG = 0;
  });

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

/*
 * The process diagram on the ticket view: bpmn-js (the viewer, vendored by `make assets`)
 * draws the BPMN XML from data-bpmn-url and marks the elements in data-current (the open
 * tasks' BPMN ids) with the class "current".  Without JavaScript the list of current steps
 * below the container is all there is.
 */
(function () {
  "use strict";

  function showDiagram() {
    var container = document.getElementById("process-diagram");
    if (!container || !window.BpmnJS || !window.fetch) {
      return;
    }
    var current = (container.getAttribute("data-current") || "").split(/\s+/).filter(Boolean);
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-bpmn-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/xml" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        current.forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, "current");
          }
        });
        container.classList.add("process-diagram--ready");
      })
      .catch(function () {
        container.classList.add("process-diagram--failed");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showDiagram);
  } else {
    showDiagram();
  }
})();
