/* The activity report's page: fetches the report and its charts from the observatory's API with a
 * bearer token, and draws them (vega-embed, CSP-safe interpreter: no eval). The token comes from the
 * URL fragment (#token=…, never sent to the server) or the form, and stays in sessionStorage.
 * Everything from the API is put in the page as text (textContent), never as HTML. */
(function () {
  "use strict";

  var KEY = "cress-observatory-token";
  var main = document.getElementById("report");
  var year = main.getAttribute("data-year");
  var asOf = new URLSearchParams(window.location.search).get("as_of");
  var number = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
  var money = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", maximumFractionDigits: 0 });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function show(id, visible) { document.getElementById(id).hidden = !visible; }

  function message(text, kind) {
    var box = document.getElementById("message");
    box.textContent = text;
    box.className = "message " + (kind || "error");
    box.hidden = !text;
  }

  function readToken() {
    var hash = window.location.hash.replace(/^#/, "");
    var found = new URLSearchParams(hash).get("token");
    if (found) {
      sessionStorage.setItem(KEY, found);
      history.replaceState(null, "", window.location.pathname + window.location.search);  // out of the address bar
    }
    return sessionStorage.getItem(KEY);
  }

  function AuthError(status) { this.status = status; }

  function query() { return asOf ? "?as_of=" + encodeURIComponent(asOf) : ""; }

  function get(path, token) {
    return fetch(path, { headers: { "Authorization": "Bearer " + token, "Accept": "application/json" },
                         credentials: "omit", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { throw new AuthError(r.status); }
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (p) {
            throw new Error(p.detail || ("erreur " + r.status));
          });
        }
        return r.json();
      });
  }

  // -- figures -----------------------------------------------------------------------------------------
  function display(figure) {
    var v = figure.value;
    if (v === null || v === undefined) { return "—"; }
    if (figure.unit === "centimes") { return money.format(v / 100); }
    if (figure.unit === "%") { return number.format(v) + "\u00a0%"; }
    var unit = figure.unit;  // French agreement: 0 or 1 adhérent, 2 adhérents
    if (Math.abs(v) < 2 && /[^is]s$/.test(unit) && unit.indexOf(" ") < 0) { unit = unit.slice(0, -1); }
    return number.format(v) + "\u00a0" + unit;
  }

  function sourceOf(figure) {
    var src = figure.source, details = el("details", { "class": "source" }), box = el("div", { "class": "source-body" });
    details.appendChild(el("summary", {}, figure.recorded ? "chiffre saisi" : "source"));
    details.appendChild(box);
    if (src.kind === "recorded") {
      box.appendChild(el("p", {}, "Chiffre saisi par l'équipe" +
        (src.recorded_on ? " le " + new Date(src.recorded_on).toLocaleDateString("fr-FR") : "") + " : " +
        (src.detail || "source non précisée")));
      if (src.fact_id) { box.appendChild(el("p", { "class": "muted" }, "Fait enregistré " + src.fact_id)); }
    } else {
      box.appendChild(el("p", {}, number.format(src.events) + " événement(s) de la plateforme comptés" +
        (src.detail ? " — " + src.detail : "")));
      var list = el("ul", {});
      src.event_types.forEach(function (t) {
        var item = el("li", {});
        item.appendChild(el("code", {}, t));
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    return details;
  }

  function drawTeams(report) {
    var host = document.getElementById("teams");
    host.textContent = "";
    host.appendChild(el("h2", {}, "Les chiffres par pôle"));
    report.teams.forEach(function (team) {
      var card = el("article", { "class": "team", "data-team": team.team });
      card.appendChild(el("h3", {}, team.label));
      var table = el("table", { "class": "figures" }), body = el("tbody", {});
      team.figures.forEach(function (f) {
        var row = el("tr", f.recorded ? { "class": "recorded" } : {});
        row.appendChild(el("td", { "class": "label" }, f.label));
        row.appendChild(el("td", { "class": "value" }, display(f)));
        var cell = el("td", { "class": "src" });
        cell.appendChild(sourceOf(f));
        row.appendChild(cell);
        body.appendChild(row);
      });
      table.appendChild(body);
      card.appendChild(table);
      host.appendChild(card);
    });
    show("teams", report.teams.length > 0);
    if (!report.teams.length) { message("Aucun chiffre pour cette année à cette date.", "info"); }
  }

  function drawObjectives(report) {
    var body = document.querySelector("#objectives tbody");
    body.textContent = "";
    var labels = {};
    report.teams.forEach(function (t) { labels[t.team] = t.label; });
    report.objectives.forEach(function (o) {
      var row = el("tr", {});
      row.appendChild(el("td", {}, o.code || ""));
      row.appendChild(el("td", {}, o.title));
      row.appendChild(el("td", {}, labels[o.team] || o.team));
      row.appendChild(el("td", {}, o.target_year));
      var status = el("td", {});
      status.appendChild(el("span", { "class": "status status-" + (o.status || "none") }, o.status_label || "—"));
      if (o.status_since) {
        status.appendChild(el("span", { "class": "muted" },
          " depuis le " + new Date(o.status_since).toLocaleDateString("fr-FR")));
      }
      row.appendChild(status);
      body.appendChild(row);
    });
    show("objectives", report.objectives.length > 0);
  }

  // -- charts --------------------------------------------------------------------------------------------
  function drawCharts(payload) {
    var options = { ast: true, actions: false, renderer: "svg", defaultStyle: false, mode: "vega-lite",
                    tooltip: { disableDefaultStyle: true } };
    var drawn = payload.charts.map(function (chart) {
      var host = document.querySelector('[data-chart="' + chart.name + '"]');
      if (!host) { return Promise.resolve(); }
      host.textContent = "";
      var target = el("div", { "class": "vega-target" });
      host.appendChild(target);
      return window.vegaEmbed(target, chart.spec, options).then(function () {
        host.setAttribute("data-drawn", "true");
      });
    });
    show("charts", true);
    show("map", true);
    return Promise.all(drawn).then(function () { main.setAttribute("data-charts", "drawn"); });
  }

  // -- downloads (the token goes in a header: a plain link could not carry it) -------------------------------
  function download(format, token) {
    var url = "/reports/" + year + "/export?format=" + format + (asOf ? "&as_of=" + encodeURIComponent(asOf) : "");
    fetch(url, { headers: { "Authorization": "Bearer " + token }, credentials: "omit" })
      .then(function (r) {
        if (!r.ok) { throw new Error("erreur " + r.status); }
        var name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
        return r.blob().then(function (blob) { return [blob, name ? name[1] : "rapport." + format]; });
      })
      .then(function (got) {
        var link = el("a", { href: URL.createObjectURL(got[0]), download: got[1] });
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      })
      .catch(function (e) { message("Le téléchargement a échoué : " + e.message); });
  }

  // -- the page ------------------------------------------------------------------------------------------------
  function askToken(text) {
    message(text);
    show("token-form", true);
    document.getElementById("as-of").textContent = "Rapport non chargé";
  }

  function load(token) {
    if (!token) {
      askToken("Pour afficher le rapport, il faut un jeton d'accès (rôle « reader » ou « staff:observatory ») : " +
               "ouvrez le lien reçu (…/page#token=…) ou collez le jeton ci-dessous.");
      return;
    }
    message("", "info");
    show("token-form", false);
    Promise.all([get("/reports/" + year + query(), token), get("/reports/" + year + "/charts" + query(), token)])
      .then(function (got) {
        var report = got[0];
        document.getElementById("as-of").textContent = "Chiffres au " +
          new Date(report.as_of).toLocaleDateString("fr-FR", { day: "numeric", month: "long", year: "numeric" }) +
          ", calculés à partir des événements de la plateforme";
        drawTeams(report);
        drawObjectives(report);
        document.getElementById("downloads").hidden = false;
        return drawCharts(got[1]);
      })
      .then(function () { main.setAttribute("data-state", "ready"); })
      .catch(function (e) {
        if (e instanceof AuthError) {
          sessionStorage.removeItem(KEY);
          askToken(e.status === 401
            ? "Jeton d'accès refusé : il est invalide ou a expiré. Demandez-en un nouveau et collez-le ci-dessous."
            : "Ce jeton ne donne pas accès au rapport : il faut le rôle « reader » ou « staff:observatory ».");
        } else {
          message("Le rapport n'a pas pu être chargé : " + e.message);
        }
        main.setAttribute("data-state", "error");
      });
  }

  document.getElementById("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = document.getElementById("token").value.trim();
    if (value) { sessionStorage.setItem(KEY, value); }
    load(value);
  });
  Array.prototype.forEach.call(document.querySelectorAll("#downloads button"), function (button) {
    button.addEventListener("click", function () { download(button.getAttribute("data-format"), sessionStorage.getItem(KEY)); });
  });
  load(readToken());
}());
