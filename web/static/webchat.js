// Browser chat: sends each input as JSON and renders the replies as text (never as HTML).
//
// Nothing is lost: the page first asks the server for this browser's earlier replies
// (a reload, Back, a second tab show the conversation where it is); a typed message
// stays in the box until the server has it, and "Reintentar" sends it again with the
// same id (the server does a step once); the box takes no more than the step's limit.
(function () {
  "use strict";
  var log = document.getElementById("chat-log");
  var scroller = log.parentNode;
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var status = document.getElementById("chat-status");
  var retry = document.getElementById("chat-retry");
  var counter = document.getElementById("chat-counter");
  var endpoint = form.dataset.endpoint;
  var texts = JSON.parse(form.dataset.texts);
  var defaultLimit = parseInt(form.dataset.limit, 10) || 1000;
  var limit = defaultLimit;
  var last = 0;        // the last step shown (its id in the outbox)
  var pending = null;  // {message, typed, element} waiting for the server's answer
  var loading = false;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function item(cls, who) {
    var li = document.createElement("li");
    li.className = cls;
    li.tabIndex = -1;
    var speaker = document.createElement("span");
    speaker.className = "visually-hidden";
    speaker.textContent = who + " ";
    li.appendChild(speaker);
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
    a.textContent = fill(texts.download, { filename: doc.filename });
    a.className = "document";
    var wrap = document.createElement("div");
    wrap.className = "buttons";
    wrap.appendChild(a);
    li.appendChild(wrap);
    if (doc.caption) { bubble(li, doc.caption); }
  }

  function renderReply(reply) {
    var li = item("from-bot", texts.bot);
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
          el.textContent = b.label;
          var hint = document.createElement("span");
          hint.className = "visually-hidden";
          hint.textContent = " " + texts.newTab;
          el.appendChild(hint);
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.textContent = b.label;
          el.addEventListener("click", function () {
            if (pending) { return; }
            // a choice is made once: the buttons of this message stop working
            li.querySelectorAll("button").forEach(function (other) { other.disabled = true; });
            submit({ kind: "button", data: b.data }, b.label, null);
          });
        }
        wrap.appendChild(el);
      });
      li.appendChild(wrap);
    });
    if (reply.document) { documentLink(li, reply.document); }
    return li;
  }

  // One step's replies: older choices are switched off, the newest message or its
  // first choice gets the focus (the box when the step expects a text).
  function renderStep(replies, focus) {
    log.querySelectorAll("button").forEach(function (old) { old.disabled = true; });
    var items = replies.map(renderReply);
    var expects = null;
    replies.forEach(function (r) { if (r.limit) { expects = r.limit; } });
    setLimit(expects || defaultLimit);
    scroller.scrollTop = scroller.scrollHeight;
    if (!focus || items.length === 0) { return; }
    var newest = items[items.length - 1];
    var choice = newest.querySelector("button:not([disabled]), a");
    if (expects) {
      input.focus();
    } else if (choice) {
      choice.focus();
    } else {
      newest.focus();
    }
  }

  function showMine(text) { bubble(item("from-me", texts.you), text); }

  function setLimit(value) {
    limit = value;
    input.maxLength = value;
    count();
  }

  function count() {
    counter.textContent = fill(texts.counter, { n: input.value.length, max: limit });
  }

  function problem(text, canRetry) {
    status.textContent = text;
    retry.hidden = !canRetry;
  }

  function submit(message, mine, typed) {
    message.id = newId();
    pending = { message: message, mine: mine, typed: typed };
    post();
  }

  function post() {
    var sent = pending;
    problem(texts.sending, false);
    form.setAttribute("aria-busy", "true");
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(sent.message)
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        // refused or busy: the message stays (typed in the box) and can be sent again
        var again = result.status >= 500 || result.status === 429;
        problem(result.body.error || texts.failed, again);
        if (!again) { pending = null; }
        return;
      }
      pending = null;
      problem("", false);
      if (sent.mine !== null) { showMine(sent.mine); }
      if (sent.typed !== null && input.value === sent.typed) { input.value = ""; count(); }
      if (result.body.id) { last = Math.max(last, result.body.id); }
      renderStep(result.body.replies, true);
    }).catch(function () {
      problem(texts.offline, true);
    }).then(function () {
      form.removeAttribute("aria-busy");
    });
  }

  retry.addEventListener("click", function () {
    if (pending) { post(); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    if (text.length > limit) {
      problem(fill(texts.tooLong, { n: text.length, max: limit }), false);
      input.focus();
      return;
    }
    if (pending) {
      // the same text again is the same message (the server does it once)
      if (pending.typed === text) { post(); }
      return;
    }
    submit({ kind: "text", text: text }, text, text);
  });

  input.addEventListener("input", count);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // This browser's replies after the last shown: the conversation where it is.
  function catchUp(then) {
    if (loading) { return; }
    loading = true;
    fetch(endpoint + "?desde=" + last, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (response) {
      if (!response.ok) { throw new Error("since"); }
      return response.json();
    }).then(function (body) {
      loading = false;
      body.steps.forEach(function (step, index) {
        last = Math.max(last, step.id);
        renderStep(step.replies, index === body.steps.length - 1);
      });
      if (body.steps.length >= 50) { catchUp(then); return; }
      if (then) { then(); }
    }).catch(function () {
      loading = false;
      if (then) { then(); }
    });
  }

  function startIfNew() {
    if (last > 0 || log.children.length > 0) { return; }
    var source = new URLSearchParams(window.location.search).get("fuente") || "";
    submit({ kind: "start", text: source.slice(0, 64) }, null, null);
  }

  // another tab may have gone on: show what it did when this one is looked at again
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !pending) { catchUp(null); }
  });

  count();
  catchUp(startIfNew);
})();
