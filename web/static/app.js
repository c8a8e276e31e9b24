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
