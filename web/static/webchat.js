// Browser chat: sends each input as JSON and renders the replies as text (never as HTML).
(function () {
  "use strict";
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var status = document.getElementById("chat-status");
  var busy = false;
  var queue = [];

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function item(cls) {
    var li = document.createElement("li");
    li.className = cls;
    log.appendChild(li);
    return li;
  }

  function bubble(li, text) {
    var p = document.createElement("p");
    p.className = "msg";
    p.textContent = text;
    li.appendChild(p);
  }

  function documentLink(li, doc) {
    var bytes = Uint8Array.from(window.atob(doc.base64), function (c) { return c.charCodeAt(0); });
    var url = URL.createObjectURL(new Blob([bytes], { type: doc.mime }));
    var a = document.createElement("a");
    a.href = url;
    a.download = doc.filename;
    a.textContent = "Descargar " + doc.filename;
    a.className = "document";
    var wrap = document.createElement("div");
    wrap.className = "buttons";
    wrap.appendChild(a);
    li.appendChild(wrap);
    if (doc.caption) { bubble(li, doc.caption); }
  }

  function renderReply(reply) {
    var li = item("from-bot");
    if (reply.text) { bubble(li, reply.text); }
    if (reply.notice) {
      var n = document.createElement("p");
      n.className = "notice";
      n.textContent = reply.notice;
      li.appendChild(n);
    }
    (reply.buttons || []).forEach(function (row) {
      var wrap = document.createElement("div");
      wrap.className = "buttons";
      row.forEach(function (b) {
        var el;
        if (b.url) {
          el = document.createElement("a");
          el.href = b.url;
          el.target = "_blank";
          el.rel = "noopener noreferrer";
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.addEventListener("click", function () {
            // a choice is made once: the buttons of this message stop working
            li.querySelectorAll("button").forEach(function (other) { other.disabled = true; });
            showMine(b.label);
            send({ kind: "button", data: b.data });
          });
        }
        el.textContent = b.label;
        wrap.appendChild(el);
      });
      li.appendChild(wrap);
    });
    if (reply.document) { documentLink(li, reply.document); }
  }

  function showMine(text) { bubble(item("from-me"), text); }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function send(message) {
    message.id = newId();
    queue.push(message);
    pump();
  }

  function pump() {
    if (busy || queue.length === 0) { return; }
    busy = true;
    var message = queue.shift();
    status.textContent = "";
    fetch(form.dataset.endpoint || "/participa/mensajes", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(message)
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        status.textContent = result.body.error || "No pudimos enviar tu mensaje. Inténtalo de nuevo.";
        return;
      }
      result.body.replies.forEach(renderReply);
      scroll();
    }).catch(function () {
      status.textContent = "Sin conexión. Revisa tu internet e inténtalo de nuevo.";
    }).then(function () {
      busy = false;
      pump();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    showMine(text);
    input.value = "";
    send({ kind: "text", text: text });
    scroll();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  var source = new URLSearchParams(window.location.search).get("fuente") || "";
  send({ kind: "start", text: source.slice(0, 64) });
})();
