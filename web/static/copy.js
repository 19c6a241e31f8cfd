// "Copiar enlace" on a proposal's page: shown only where the browser can copy;
// without JavaScript the link stays in its read-only field.
(function () {
  "use strict";
  var button = document.querySelector("button[data-copy]");
  var status = document.querySelector("[data-copy-status]");
  if (!button || !navigator.clipboard || !window.isSecureContext) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      if (status) {
        status.textContent = button.getAttribute("data-copied");
      }
    });
  });
})();
