// Campaign progress in the staff panel: polls the page's JSON figures and updates them
// in place (textContent only). When the status changes, the page is loaded again so
// that its buttons (Pausar / Reanudar / Cancelar) match. Without JavaScript the page
// offers an "Actualizar" link instead.
(function () {
  "use strict";
  var root = document.getElementById("avance");
  if (!root || !window.fetch) { return; }
  var api = root.getAttribute("data-api");
  var status = root.getAttribute("data-status");
  var every = parseInt(root.getAttribute("data-poll-ms"), 10) || 2000;
  var number = new Intl.NumberFormat("es-MX");
  var fields = ["done", "total", "sent", "blocked", "failed", "skipped"];

  function set(id, value) {
    var el = document.getElementById("n-" + id);
    if (el) { el.textContent = number.format(value); }
  }
  function tick() {
    fetch(api, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.status !== status) { window.location.reload(); return; }
        fields.forEach(function (f) { set(f, data[f]); });
        set("pending", data.pending + data.sending);
        var bar = document.getElementById("barra");
        if (bar) { bar.max = data.total || 1; bar.value = data.done; bar.textContent = data.done; }
      })
      .catch(function () {})
      .then(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
