// Starts Swagger UI in the page's #swagger-ui element, on the OpenAPI
// document its data-url names. It is a file of its own, not an inline
// script, so that the page's Content-Security-Policy can allow scripts
// from this origin only (script-src 'self').
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    // No validity badge: it is an image from validator.swagger.io, and the
    // page asks no other origin for anything.
    validatorUrl: null,
    // A token given to "Authorize" lives only as long as the page: it is
    // not kept in the browser's storage.
    persistAuthorization: false,
  });
})();
