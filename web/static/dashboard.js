// Live dashboard: polls /api/estadisticas and updates the figures in place.
// Data is only ever written with textContent (never innerHTML).
(function () {
  "use strict";
  var root = document.querySelector(".dashboard");
  if (!root || !window.fetch) { return; }
  var api = root.getAttribute("data-api");
  var every = parseInt(root.getAttribute("data-poll-ms"), 10) || 5000;
  var version = root.getAttribute("data-version");
  var announcer = document.getElementById("anuncio");
  // The page's texts, from the catalogue (the template's data-texts)
  var texts = {};
  try { texts = JSON.parse(root.getAttribute("data-texts") || "{}"); } catch (e) { texts = {}; }
  function say(name, values) {
    return (texts[name] || "").replace(/\{(\w+)\}/g, function (all, key) {
      return values && key in values ? values[key] : all;
    });
  }
  var number = new Intl.NumberFormat("es-MX");

  function fmt(value) { return typeof value === "number" ? number.format(value) : String(value); }
  function pct(value) { return value === null || value === undefined ? "—" : (100 * value).toFixed(1) + "\u00a0%"; }
  function lookup(data, path) {
    return path.split(".").reduce(function (obj, key) { return obj ? obj[key] : undefined; }, data);
  }
  function cell(tag, text, attrs) {
    var el = document.createElement(tag);
    el.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  function fill(tbody, rows) {
    var fresh = document.createElement("tbody");
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (c) { tr.appendChild(c); });
      fresh.appendChild(tr);
    });
    tbody.parentNode.replaceChild(fresh, tbody);
  }

  function update(data) {
    document.querySelectorAll("[data-total]").forEach(function (el) {
      el.textContent = fmt(data.totals[el.getAttribute("data-total")]);
    });
    document.querySelectorAll("table[data-series]").forEach(function (table) {
      var series = lookup(data, table.getAttribute("data-series")) || [];
      var rows = series.map(function (item) {
        return [cell("th", item.label, { scope: "row" }), cell("td", fmt(item.count), { "class": "num" })];
      });
      if (!rows.length) { rows = [[cell("td", say("empty"), { colspan: "2" })]]; }
      fill(table.tBodies[0], rows);
    });
    document.querySelectorAll("table[data-crosstab]").forEach(function (table) {
      var tab = data.crosstabs[table.getAttribute("data-crosstab")];
      if (!tab) { return; }
      fill(table.tBodies[0], tab.rows.map(function (row, i) {
        return [cell("th", row.label, { scope: "row" })].concat(tab.cells[i].map(function (v) {
          return cell("td", fmt(v), { "class": "num" });
        }));
      }));
    });
    document.querySelectorAll("table[data-repr]").forEach(function (table) {
      var rows = (data.representativeness || {})[table.getAttribute("data-repr")] || [];
      fill(table.tBodies[0], rows.map(function (r) {
        return [cell("th", r.label, { scope: "row" }), cell("td", pct(r.participant_share), { "class": "num" }),
                cell("td", pct(r.census_share), { "class": "num" })];
      }));
    });
    document.querySelectorAll("ol[data-top]").forEach(function (list) {
      var items = (data.top || {})[list.getAttribute("data-top")] || [];
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items.forEach(function (p) {
        var li = document.createElement("li");
        var meta = cell("p", "", { "class": "meta" });
        meta.appendChild(cell("span", p.folio, { "class": "folio" }));
        meta.appendChild(document.createTextNode(" · "));
        meta.appendChild(cell("span", p.topic_name));
        meta.appendChild(document.createTextNode(" · "));
        meta.appendChild(cell("span", supportsText(p.supports)));
        if (p.under_review) {
          meta.appendChild(document.createTextNode(" · "));
          meta.appendChild(cell("span", say("underReview"), { "class": "tag" }));
        }
        li.appendChild(meta);
        li.appendChild(cell("p", p.proposal, { "class": "text" }));
        list.appendChild(li);
      });
      if (!items.length) { list.appendChild(cell("li", say("noTop"), { "class": "empty" })); }
    });
    document.querySelectorAll("img[data-chart]").forEach(function (img) {
      var chart = data.charts[img.getAttribute("data-chart")];
      if (chart && img.getAttribute("src") !== chart.url) { img.setAttribute("src", chart.url); }
    });
    var status = document.querySelector("[data-field=status]");
    if (status) { status.textContent = say(data.exercise.open ? "open" : "closed"); }
    var breakdowns = data.breakdowns || {};
    var published = document.querySelector("[data-field=published]");
    if (published && breakdowns.published_at) {
      // "2023-06-14T10:35:00-06:00" -> "2023-06-14 10:35", in the exercise's time zone
      published.textContent = breakdowns.published_at.slice(0, 16).replace("T", " ");
    }
    var people = document.querySelector("[data-field=published-people]");
    if (people && typeof breakdowns.participants === "number") { people.textContent = fmt(breakdowns.participants); }
    var updated = document.querySelector("[data-field=updated]");
    if (updated) { updated.textContent = localTime(data.generated_at); }
    if (announcer) {
      announcer.textContent = say("announce", {
        participants: fmt(data.totals.participants),
        proposals: fmt(data.totals.proposals),
        supports: fmt(data.totals.supports)
      });
    }
  }

  // "1 apoyo", "2 apoyos": the catalogue's forms, given by the page
  function supportsText(n) {
    var form = n === 1 ? root.getAttribute("data-supports-one") : root.getAttribute("data-supports-other");
    return (form || "{total}").replace("{total}", fmt(n));
  }

  // the time of the figures as the exercise's people read it (its time zone)
  function localTime(iso) {
    try {
      return new Date(iso).toLocaleTimeString("es-MX", { timeZone: root.getAttribute("data-zone"), hour12: false });
    } catch (e) {
      return iso.slice(11, 19);
    }
  }

  function poll() {
    fetch(api, { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.version !== version) {
          version = data.version;
          root.setAttribute("data-version", version);
          update(data);
        }
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ })
      .then(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
}());
