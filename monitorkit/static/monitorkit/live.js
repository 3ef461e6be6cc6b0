/* monitorkit status page: keeps the page current from the JSON read API, without a reload.
 *
 * Plain JavaScript, no build step, nothing fetched but this site's own JSON and page. Every value
 * goes in through textContent or an attribute, never as HTML. The overview's rows are updated in
 * place (health and its snooze marker, status, times, progress, message, strip; rows added for
 * new command ids); a command page fetches its own HTML again when its newest run or health
 * changed, and swaps it in.
 * On both, the watcher's banner follows the JSON's "watcher".
 */
(function () {
  "use strict";
  var body = document.body;
  var api = body.getAttribute("data-api-url");
  var seconds = parseFloat(body.getAttribute("data-refresh-seconds")) || 5;
  var statusBox = document.getElementById("live-status");
  var lastSignature = null;
  if (!api) { return; }

  function say(text) { if (statusBox) { statusBox.textContent = text; } }

  function age(value) {
    var s = Math.max(0, Math.floor(value));
    if (s < 60) { return s + "s"; }
    var m = Math.floor(s / 60); s = s % 60;
    if (m < 60) { return m + "m " + String(s).padStart(2, "0") + "s"; }
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 24) { return h + "h " + String(m).padStart(2, "0") + "m"; }
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function when(ts) { return ts ? ts.slice(0, 19).replace("T", " ") + " UTC" : ""; }
  // Durations in words, as words.human_duration says them (halves round up in both).
  function duration(v) {
    if (v === null || v === undefined) { return ""; }
    if (v < 0.01) { return "< 10 ms"; }
    var ms = Math.floor(v * 1000 + 0.5);
    if (ms < 1000) { return ms + " ms"; }
    var tenths = Math.floor(v * 10 + 0.5);
    if (tenths < 100) { return Math.floor(tenths / 10) + "." + (tenths % 10) + " s"; }
    var whole = Math.floor(v + 0.5);
    if (whole < 60) { return whole + " s"; }
    var m = Math.floor(whole / 60), s = whole % 60;
    if (m < 60) { return s ? m + " min " + s + " s" : m + " min"; }
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 24) { return m ? h + " h " + m + " min" : h + " h"; }
    var d = Math.floor(h / 24); h = h % 24;
    return h ? d + " d " + h + " h" : d + " d";
  }
  // Times in the viewer's time zone, UTC on hover: the server writes UTC (it cannot know the
  // zone), and every <time datetime> is said again here, on load and after each update.
  function pad(n) { return String(n).padStart(2, "0"); }
  function local(ts) {
    if (!ts) { return ""; }
    var d = new Date(ts.slice(0, 19) + "Z");
    if (isNaN(d.getTime())) { return when(ts); }
    var zone = "";
    try {
      new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d)
        .forEach(function (part) { if (part.type === "timeZoneName") { zone = part.value; } });
    } catch (e) { zone = ""; }
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (zone ? " " + zone : "");
  }
  function setTime(node, ts) {
    if (!node) { return; }
    if (node.getAttribute("datetime") !== (ts || "")) { node.setAttribute("datetime", ts || ""); }
    setText(node, local(ts));
    var utc = when(ts);
    if (node.getAttribute("title") !== utc) { if (utc) { node.setAttribute("title", utc); } else { node.removeAttribute("title"); } }
  }
  function localizeTimes(root) {
    var nodes = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) { setTime(nodes[i], nodes[i].getAttribute("datetime")); }
  }
  // A command id with a line-break opportunity after each run of separators (page.wrapped_id).
  function fillId(node, id) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
    id.split(/([_\-.:\/]+)/).forEach(function (part, i) {
      if (!part) { return; }
      node.appendChild(document.createTextNode(part));
      if (i % 2 === 1) { node.appendChild(document.createElement("wbr")); }
    });
  }
  function ago(v) {
    if (v === null || v === undefined) { return ""; }
    return v < 0 ? "in " + age(-v) : age(v) + " ago";
  }
  function num(v) { return v === null || v === undefined ? "" : String(v); }
  function progressText(p) {
    var text = p.total !== null && p.total !== undefined ? num(p.done) + " / " + num(p.total) : num(p.done) + " done";
    if (p.percent !== null && p.percent !== undefined) { text += " (" + Math.round(p.percent) + "%)"; }
    if (p.eta_seconds !== null && p.eta_seconds !== undefined) { text += ", ETA " + age(p.eta_seconds); }
    return text;
  }
  // A run that stopped beating keeps its stored status; the page shows the judge's STALE.
  function shown(o) { return o.stale ? "STALE" : (o.status || ""); }
  // A stale run's stored message ("Command running") is not shown: when it was last heard of is.
  function message(run) {
    return run.stale ? "No heartbeat since " + when(run.latest || run.started) : (run.message || "");
  }
  function outcomeTitle(o) {
    return [o.seq ? "#" + o.seq : "", shown(o), when(o.started), duration(o.duration)]
      .filter(function (p) { return p; }).join(" · ");
  }
  function cell(row, name) { return row.querySelector("td." + name); }
  function setText(node, text) { if (node && node.textContent !== text) { node.textContent = text; } }

  function findRow(tbody, id) {
    var rows = tbody.querySelectorAll("tr[data-command-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-command-id") === id) { return rows[i]; }
    }
    return null;
  }

  function newRow(command) {
    var template = document.getElementById("row-template");
    var row = template.content.querySelector("tr").cloneNode(true);
    row.setAttribute("data-command-id", command.command_id);
    var link = row.querySelector("td.command-id a");
    var carried = window.location.search;
    link.setAttribute("href", command.url + carried);
    fillId(link, command.command_id);
    return row;
  }

  function updateRow(row, c) {
    var run = c.last_run || {};
    row.setAttribute("data-row-health", c.health);
    // The wall screen shows a row as a large card when (and only when) it is a problem.
    if (row.hasAttribute("data-problem") !== isProblem(c.health)) { row.toggleAttribute("data-problem"); }
    var badge = row.querySelector("td.health .badge");
    badge.setAttribute("data-health", c.health);
    setText(badge, c.health);
    updateSnoozed(cell(row, "health"), c.snoozed);
    var status = cell(row, "last-status");
    status.setAttribute("data-status", shown(run));
    setText(status, shown(run));
    var started = cell(row, "started");
    setTime(started.querySelector("time"), run.started);
    setText(started.querySelector(".ago"), ago(run.ago_seconds));
    setText(cell(row, "duration"), duration(run.duration));
    setText(cell(row, "host"), run.host ? run.host + (run.pid ? " pid " + run.pid : "") : "");
    setTime(cell(row, "next-run").querySelector("time"), c.next_expected);
    setText(cell(row, "message"), message(run));
    updateProgress(cell(row, "progress"), c.progress);
    updateStrip(cell(row, "strip"), c.recent || []);
  }

  // The marker of a snooze, as _overview_row.html draws it: a space, then the span.
  function updateSnoozed(td, snoozed) {
    var marker = td.querySelector(".snoozed");
    if (snoozed && !marker) {
      marker = document.createElement("span");
      marker.className = "snoozed";
      marker.setAttribute("title", "Alerts are held; health is still judged");
      marker.textContent = "snoozed";
      td.appendChild(document.createTextNode(" "));
      td.appendChild(marker);
    } else if (!snoozed && marker) {
      var space = marker.previousSibling;
      if (space && space.nodeType === 3) { td.removeChild(space); }
      td.removeChild(marker);
    }
  }

  function updateProgress(td, p) {
    if (!td) { return; }
    var bar = td.querySelector("progress.run-progress");
    var text = td.querySelector(".progress-text");
    if (!p) {
      while (td.firstChild) { td.removeChild(td.firstChild); }
      return;
    }
    if (p.total !== null && p.total !== undefined) {
      if (!bar) {
        bar = document.createElement("progress");
        bar.className = "run-progress";
        td.insertBefore(bar, td.firstChild);
      }
      bar.setAttribute("max", String(p.total));
      bar.setAttribute("value", String(p.done));
      bar.max = p.total; bar.value = p.done;
    } else if (bar) {
      td.removeChild(bar);
    }
    if (!text) {
      text = document.createElement("span");
      text.className = "progress-text";
      td.appendChild(document.createTextNode(" "));
      td.appendChild(text);
    }
    setText(text, progressText(p));
  }

  function updateStrip(td, recent) {
    if (!td) { return; }
    var wanted = recent.slice().reverse();
    var marks = td.querySelectorAll(".outcome");
    var same = marks.length === wanted.length;
    for (var i = 0; same && i < wanted.length; i++) {
      same = marks[i].getAttribute("data-status") === shown(wanted[i]) &&
        marks[i].getAttribute("title") === outcomeTitle(wanted[i]);
    }
    if (same) { return; }
    while (td.firstChild) { td.removeChild(td.firstChild); }
    wanted.forEach(function (o) {
      var mark = document.createElement("span");
      mark.className = "outcome";
      mark.setAttribute("data-status", shown(o));
      mark.setAttribute("title", outcomeTitle(o));
      td.appendChild(mark);
    });
  }

  // Problems first, counts that filter, a search box: the same rules as the server's
  // (views/overview.py Filter), kept in the URL (?health=, ?q=) without a reload.
  var table = document.getElementById("overview");
  var problems = table ? (table.getAttribute("data-problems") || "").split(" ") : [];
  var healthOrder = table ? (table.getAttribute("data-health-order") || "").split(" ") : [];
  var params = new URLSearchParams(window.location.search);
  var filter = { health: params.get("health") || "", q: (params.get("q") || "").trim() };

  function isProblem(health) { return problems.indexOf(health) !== -1; }

  // The tab: "(2) Commands · monitorkit" and an icon in the worst health's colour (the server's
  // icons, from <link id="favicon" data-icons>), so a tab in the background still tells.
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  function updateTab(problemCount, worst) {
    var title = (problemCount ? "(" + problemCount + ") " : "") + baseTitle;
    if (document.title !== title) { document.title = title; }
    var icon = document.getElementById("favicon");
    if (!icon) { return; }
    var icons = {};
    try { icons = JSON.parse(icon.getAttribute("data-icons") || "{}"); } catch (e) { icons = {}; }
    if (icons[worst] && icon.getAttribute("href") !== icons[worst]) { icon.setAttribute("href", icons[worst]); }
  }

  // The wall screen's line for all that is not a problem, as views/overview.py kiosk_summary.
  function kioskSummary(healths) {
    var box = document.getElementById("kiosk-summary");
    if (!box) { return; }
    var others = healths.filter(function (h) { return !isProblem(h); });
    var calm = others.length > 0 && others.length === healths.length;
    var text;
    if (calm && others.every(function (h) { return h === "OK"; })) {
      text = "All " + others.length + " commands OK";
    } else {
      text = healthOrder.filter(function (h) { return others.indexOf(h) !== -1; }).map(function (h) {
        var n = others.filter(function (o) { return o === h; }).length;
        return n + " " + (h === "OK" ? h : h.toLowerCase());
      }).join(", ");
      if (calm) { text = "Nothing wrong: " + text; }
    }
    setText(box, text);
    if (box.classList.contains("calm") !== calm) { box.classList.toggle("calm"); }
  }

  function searched(id) { return id.toLowerCase().indexOf(filter.q.toLowerCase()) !== -1; }
  function showsRow(id, health) {
    if (!searched(id)) { return false; }
    if (filter.health === "problems") { return problems.indexOf(health) !== -1; }
    return !filter.health || filter.health === health;
  }
  function queryString(health) {
    var query = new URLSearchParams(window.location.search);
    query.delete("health"); query.delete("q");
    if (health) { query.set("health", health); }
    if (filter.q) { query.set("q", filter.q); }
    return "?" + query.toString();
  }

  function renderCounts(rows) {
    var box = document.getElementById("counts");
    if (!box) { return; }
    var byHealth = {}, total = 0, problemCount = 0;
    rows.forEach(function (row) {
      var health = row.getAttribute("data-row-health");
      if (!searched(row.getAttribute("data-command-id"))) { return; }
      total += 1;
      byHealth[health] = (byHealth[health] || 0) + 1;
      if (problems.indexOf(health) !== -1) { problemCount += 1; }
    });
    var links = [["", "All", total], ["problems", "Problems", problemCount]];
    healthOrder.forEach(function (health) { if (byHealth[health]) { links.push([health, health, byHealth[health]]); } });
    while (box.firstChild) { box.removeChild(box.firstChild); }
    links.forEach(function (link) {
      var a = document.createElement("a");
      var current = link[0] === filter.health;
      a.className = "count";
      a.setAttribute("href", queryString(current ? "" : link[0]));
      a.setAttribute("data-filter", link[0]);
      if (current) { a.setAttribute("aria-current", "true"); }
      if (link[0] && link[0] !== "problems") {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.setAttribute("data-health", link[0]);
        badge.textContent = link[1];
        a.appendChild(badge);
      } else {
        a.appendChild(document.createTextNode(link[1]));
      }
      a.appendChild(document.createTextNode(" "));
      var n = document.createElement("span");
      n.className = "n";
      n.textContent = String(link[2]);
      a.appendChild(n);
      box.appendChild(a);
      box.appendChild(document.createTextNode(" "));
    });
  }

  function applyFilter() {
    var tbody = document.querySelector("#overview tbody");
    if (!tbody) { return; }
    var rows = Array.prototype.slice.call(tbody.querySelectorAll("tr[data-command-id]"));
    var any = false;
    rows.forEach(function (row) {
      var show = showsRow(row.getAttribute("data-command-id"), row.getAttribute("data-row-health"));
      if (row.hidden === show) { row.hidden = !show; }
      any = any || show;
    });
    var none = document.getElementById("no-match");
    if (none) { none.hidden = any || rows.length === 0; }
    var kept = document.querySelector("form.filters input[name=health]");
    if (filter.health && !kept) {
      kept = document.createElement("input");
      kept.type = "hidden"; kept.name = "health";
      var form = document.querySelector("form.filters");
      if (form) { form.insertBefore(kept, form.firstChild); }
    }
    if (kept) { if (filter.health) { kept.value = filter.health; } else { kept.parentNode.removeChild(kept); } }
    if (rows.length) { renderCounts(rows); }
  }

  function refilter() {
    window.history.replaceState(null, "", queryString(filter.health));
    applyFilter();
  }

  var counts = document.getElementById("counts");
  if (counts) {
    counts.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.count") : null;
      if (!link) { return; }
      event.preventDefault();
      var wanted = link.getAttribute("data-filter") || "";
      filter.health = wanted === filter.health ? "" : wanted;
      refilter();
    });
  }
  var search = document.getElementById("search");
  if (search) {
    search.addEventListener("input", function () { filter.q = search.value.trim(); refilter(); });
    search.form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function applyOverview(data) {
    var tbody = document.querySelector("#overview tbody");
    if (!tbody) { window.location.reload(); return; }
    var byId = {};
    data.commands.forEach(function (c) {
      var row = findRow(tbody, c.command_id) || newRow(c);
      updateRow(row, c);
      byId[c.command_id] = row;
    });
    // The JSON comes problems first: rows follow its order (a row moves when its health does).
    var rows = tbody.querySelectorAll("tr[data-command-id]");
    var same = rows.length === data.commands.length;
    for (var i = 0; same && i < rows.length; i++) {
      same = rows[i].getAttribute("data-command-id") === data.commands[i].command_id;
    }
    if (!same) {
      data.commands.forEach(function (c) { tbody.appendChild(byId[c.command_id]); });
    }
    var healths = data.commands.map(function (c) { return c.health; });
    var worst = healthOrder.filter(function (h) { return healths.indexOf(h) !== -1; })[0] || "";
    updateTab(healths.filter(isProblem).length, worst);
    kioskSummary(healths);
    applyFilter();
  }

  // A command page (its JSON's first page: the newest runs, without output) or a run's page
  // (the run's JSON, data.run_id): the live region is fetched again when what it shows changed.
  function applyCommand(data) {
    var newest = data.run_id ? data : (data.runs && data.runs.length ? data.runs[0] : {});
    var stale = data.run_id ? (data.stale ? 1 : 0) : (data.runs || []).filter(function (r) { return r.stale; }).length;
    var signature = [data.health, data.snoozed, newest.run_id, newest.status, newest.latest, newest.message, stale, JSON.stringify(newest.progress || null)].join("|");
    if (lastSignature === null) { lastSignature = signature; return Promise.resolve(); }
    if (signature === lastSignature) { return Promise.resolve(); }
    lastSignature = signature;
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-region");
        var current = document.getElementById("live-region");
        if (fresh && current) {
          var swapped = document.importNode(fresh, true);
          localizeTimes(swapped);
          current.replaceWith(swapped);
        }
      });
  }

  // The watcher's banner: shown while the JSON says no watcher runs, with its words.
  function updateWatcher(w) {
    var banner = document.getElementById("watcher-banner");
    if (!banner) { return; }
    var silent = !!(w && w.silent);
    if (banner.hidden === silent) { banner.hidden = !silent; }
    setText(banner.querySelector(".banner-text"), silent ? (w.message || "") : "");
  }

  function setGenerated(ts) {
    var node = document.getElementById("generated");
    if (node && ts) { setTime(node, ts); }
  }

  // A command's or a run's JSON answers 304 when nothing stored changed since the ETag we
  // send: the poll then fetches no body, and the page stays as it is.
  var lastEtag = null;
  function poll() {
    var headers = { "Accept": "application/json" };
    if (lastEtag) { headers["If-None-Match"] = lastEtag; }
    fetch(api, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) { return null; }
        lastEtag = response.headers.get("ETag");
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          return Promise.reject(response.status === 200 ? "signed out" : response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { setGenerated(new Date().toISOString()); say(""); return; }  // 304
        if (body.classList.contains("page-unavailable")) { window.location.reload(); return; }
        setGenerated(data.generated);
        updateWatcher(data.watcher);
        say("");
        if (body.classList.contains("page-overview")) { return applyOverview(data); }
        updateTab(isProblem(data.health) ? 1 : 0, data.health);
        return applyCommand(data);
      })
      .catch(function (why) { say("Not updating (" + why + "); trying again."); })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  localizeTimes(document);
  window.setTimeout(poll, seconds * 1000);
})();
