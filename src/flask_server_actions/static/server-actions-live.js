// Flask Server Actions: live regions (docs/live-regions.md).
// Loaded by server-actions.js on pages that have a region with data-sa-live.
//
// One tab of the browser holds the event stream (a Web Lock elects it); the
// others hear its events through a BroadcastChannel, and one of them takes the
// lock when that tab closes. An event only names topics ("tag:posts"); each tab
// fetches its affected regions again with the ordinary region GET (HX-Target,
// its own cookies, If-None-Match) and morphs them in, so what the user is
// typing, focus and scroll stay as they are.
(function () {
  "use strict";
  // Pages and tests can tell that it runs: window.serverActions.loaded.live.
  if (window.serverActions) {
    (window.serverActions.loaded = window.serverActions.loaded || {}).live = true;
  }

  if (window.__saLive) return;
  var me = document.querySelector("script[data-sa-live-url]");
  var streamUrl = me && me.getAttribute("data-sa-live-url");
  var root = document.documentElement;
  var STATE_ATTR = "data-sa-live-state";

  function setState(state) {
    if (root.getAttribute(STATE_ATTR) === state) return;
    root.setAttribute(STATE_ATTR, state);
    document.dispatchEvent(new CustomEvent("sa:live-state", { detail: { state: state } }));
  }

  if (!streamUrl || !window.EventSource || !window.htmx || !window.fetch) {
    setState("off");
    return;
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); })
      .join("");
  }

  var tabId = randomId();
  var COALESCE_MS = 60;

  // The tab that made a change does not refetch what its own answer brought:
  // every request says which tab sent it, and the event says which tab caused
  // it. Such an event can arrive before the answer: it waits for this tab's
  // requests to end, then the regions the answer rendered are known fresh.
  var inFlight = 0;
  var ownEvents = [];
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) ctx.request.headers["X-SA-Live-Client"] = tabId;
  });
  document.addEventListener("htmx:before:request", function () { inFlight += 1; });
  document.addEventListener("htmx:finally:request", function () {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0 && ownEvents.length) {
      window.setTimeout(function () {
        var waiting = ownEvents;
        ownEvents = [];
        waiting.forEach(function (e) { onBump(e.topics, e.id); });
      }, 0);
    }
  });

  // -- event ids ("<epoch>.<n>") ---------------------------------------------

  function newer(a, b) {
    // Which id to resume from: the later of two ids of one log; across logs
    // the server cannot replay either, so any will do.
    if (!a) return b;
    if (!b) return a;
    var pa = a.split("."), pb = b.split(".");
    if (pa[0] !== pb[0]) return b;
    return parseInt(pa[1], 10) >= parseInt(pb[1], 10) ? a : b;
  }

  function older(a, b) {
    if (!a) return b;
    if (!b) return a;
    return newer(a, b) === a ? b : a;
  }

  function liveRegions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-sa-live][id]"));
  }

  function pageSince() {
    var since = null;
    liveRegions().forEach(function (el) { since = older(since, el.getAttribute("data-sa-live-since")); });
    return since;
  }

  function myTopics() {
    var topics = {};
    liveRegions().forEach(function (el) {
      (el.getAttribute("data-sa-live") || "").split(/\s+/).forEach(function (t) { if (t) topics[t] = true; });
    });
    return Object.keys(topics).sort();
  }

  var lastId = pageSince();

  // -- refetching regions -----------------------------------------------------

  var pending = {};
  var flushTimer = null;
  var inflight = {};
  var again = {};

  function refetch(id) {
    if (inflight[id]) { again[id] = true; return; }
    var el = document.getElementById(id);
    if (!el || !el.hasAttribute("data-sa-live")) return;
    inflight[id] = true;
    var headers = {};
    var etag = el.getAttribute("data-sa-etag");
    if (etag) headers["If-None-Match"] = etag;
    var done = function () {
      inflight[id] = false;
      if (again[id]) { again[id] = false; refetch(id); }
    };
    var path = window.location.pathname + window.location.search;
    refreshing += 1;
    var finished = function () { refreshing -= 1; done(); };
    Promise.resolve(htmx.ajax("GET", path, { source: el, target: el, swap: "outerMorph", headers: headers }))
      .then(finished, finished);
  }

  // A live refresh renders the region as anyone would see it now, so a form
  // inside it would lose the message its own answer just showed ("Added …"):
  // the morph keeps a status area that says something and would be emptied.
  // (htmx 4 asks its extensions, not DOM listeners, before morphing a node.)
  var refreshing = 0;
  htmx.registerExtension("sa-live", {
    htmx_before_morph_node: function (elt, detail) {
      if (!refreshing) return true;
      var old = detail && detail.oldNode, fresh = detail && detail.newNode;
      var keep = old && old.classList && old.classList.contains("sa-status") &&
        old.textContent.trim() && fresh && !fresh.textContent.trim();
      return !keep;
    },
  });

  function schedule(ids) {
    ids.forEach(function (id) { pending[id] = true; });
    if (flushTimer) return;
    // Bursts (many bumps of one tag) become one refetch per region.
    flushTimer = window.setTimeout(function () {
      flushTimer = null;
      var ids = Object.keys(pending);
      pending = {};
      ids.forEach(refetch);
    }, COALESCE_MS);
  }

  function onBump(topics, id) {
    var wanted = {};
    topics.forEach(function (t) { wanted[t] = true; });
    schedule(liveRegions().filter(function (el) {
      // A region rendered after the event (each says at which event it was
      // rendered) already shows it: the tab whose action made the change got
      // its stale regions in the answer, so it refetches only the others (no
      // echo), and a region fetched since needs nothing either.
      var since = el.getAttribute("data-sa-live-since");
      if (since && id && newer(since, id) === since) return false;
      return (el.getAttribute("data-sa-live") || "").split(/\s+/).some(function (t) { return wanted[t]; });
    }).map(function (el) { return el.id; }));
  }

  function refetchAll() {
    schedule(liveRegions().map(function (el) { return el.id; }));
  }

  function handle(msg) {
    if (msg.id) lastId = newer(lastId, msg.id);
    if (msg.kind === "bump") {
      if (msg.origin === tabId && inFlight > 0) ownEvents.push({ topics: msg.topics || [], id: msg.id });
      else onBump(msg.topics || [], msg.id);
    }
    else if (msg.kind === "refetch") refetchAll();
  }

  // -- one stream per browser ---------------------------------------------------

  var channel = window.BroadcastChannel ? new BroadcastChannel("sa-live " + streamUrl) : null;
  var leader = false;
  var others = {}; // tab id -> topics, heard by the leader
  var source = null;
  var streamTopics = "";
  var attempt = 0;
  var retryTimer = null;
  var watchdog = null;
  var heartbeatMs = 15000;

  // A stream that says nothing for three heartbeats is dead (the server went
  // away without closing it): reconnect, resuming from the last id.
  function feedWatchdog(es) {
    if (watchdog) window.clearTimeout(watchdog);
    watchdog = window.setTimeout(function () {
      if (source === es) fail(es);
    }, 3 * heartbeatMs + 1000);
  }

  function fail(es) {
    // EventSource would retry at its own fixed pace: back off with jitter instead.
    es.close();
    setState("reconnecting");
    post({ type: "state", state: "reconnecting" });
    var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random());
    attempt += 1;
    retryTimer = window.setTimeout(connect, delay);
  }

  function post(msg) {
    if (channel) channel.postMessage(msg);
  }

  function allTopics() {
    var topics = {};
    myTopics().forEach(function (t) { topics[t] = true; });
    Object.keys(others).forEach(function (tab) {
      others[tab].forEach(function (t) { topics[t] = true; });
    });
    return Object.keys(topics).sort().join(" ");
  }

  function share(msg) {
    handle(msg);
    post({ type: "event", msg: msg, state: root.getAttribute(STATE_ATTR) });
  }

  function connect() {
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    if (source) source.close();
    streamTopics = allTopics();
    if (!streamTopics) { source = null; return; }
    var url = streamUrl + (streamUrl.indexOf("?") < 0 ? "?" : "&") +
      "topics=" + encodeURIComponent(streamTopics) +
      (lastId ? "&last=" + encodeURIComponent(lastId) : "");
    var es = new EventSource(url, { withCredentials: true });
    source = es;
    es.addEventListener("open", function () {
      if (source !== es) return;
      attempt = 0;
      setState("live");
      post({ type: "state", state: "live" });
      feedWatchdog(es);
    });
    es.addEventListener("hello", function (e) {
      var seconds = parseFloat(e.data);
      if (seconds > 0) heartbeatMs = seconds * 1000;
      feedWatchdog(es);
    });
    es.addEventListener("bump", function (e) {
      feedWatchdog(es);
      var data = {};
      try { data = JSON.parse(e.data); } catch (err) { return; }
      share({ kind: "bump", id: e.lastEventId, topics: data.t || [], origin: data.o });
    });
    es.addEventListener("hb", function (e) {
      feedWatchdog(es);
      share({ kind: "hb", id: e.lastEventId });
    });
    es.addEventListener("refetch", function (e) {
      feedWatchdog(es);
      share({ kind: "refetch", id: e.lastEventId });
    });
    es.addEventListener("reconnect", function (e) {
      if (source !== es) return;
      handle({ kind: "hb", id: e.lastEventId });
      es.close();
      // Every browser of a stopping server comes back at once: spread them.
      retryTimer = window.setTimeout(connect, Math.random() * 1000);
    });
    es.addEventListener("error", function () {
      if (source === es) fail(es);
    });
  }

  function topicsChanged() {
    if (leader) {
      if (allTopics() !== streamTopics) connect();
    } else {
      post({ type: "topics", tab: tabId, topics: myTopics(), since: pageSince() });
    }
  }

  function becomeLeader() {
    leader = true;
    post({ type: "leader", tab: tabId, id: lastId });
    connect();
  }

  if (channel) {
    channel.onmessage = function (e) {
      var m = e.data || {};
      if (m.type === "event") {
        if (m.state) setState(m.state);
        handle(m.msg);
      } else if (m.type === "state") {
        setState(m.state);
      } else if (m.type === "leader") {
        // A new leader: tell it what this tab listens to.
        if (!leader) topicsChanged();
      } else if (m.type === "topics" && leader) {
        others[m.tab] = m.topics || [];
        if (allTopics() !== streamTopics) connect();
        // Events that came before that tab joined: it checks its regions once
        // (each answers 304 if it had not changed).
        post({ type: "welcome", tab: m.tab, id: lastId, state: root.getAttribute(STATE_ATTR) });
      } else if (m.type === "welcome" && m.tab === tabId) {
        if (m.state) setState(m.state);
        var since = pageSince();
        if (m.id && since && newer(since, m.id) !== since) refetchAll();
        lastId = newer(lastId, m.id);
      } else if (m.type === "bye" && leader) {
        delete others[m.tab];
      }
    };
  }

  window.addEventListener("pagehide", function () {
    if (!leader) post({ type: "bye", tab: tabId });
    if (source) source.close();
  });

  // Regions that arrive or leave with a swap change what the stream must carry.
  document.addEventListener("htmx:after:swap", function () {
    window.setTimeout(topicsChanged, 0);
  });

  setState("connecting");
  if (navigator.locks && channel) {
    navigator.locks.request("sa-live " + streamUrl, function () {
      becomeLeader();
      // Held for as long as this tab lives; then another tab gets it.
      return new Promise(function () {});
    });
    topicsChanged();
  } else {
    becomeLeader();
  }

  window.__saLive = { tab: tabId, isLeader: function () { return leader; } };
})();
