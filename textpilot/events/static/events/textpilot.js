/* textpilot storefront snippet. No dependencies, no build step.
 *
 *   <script src="https://<textpilot host>/js/textpilot.js" data-key="pk_…" async></script>
 *   textpilot.track("Viewed Product", {product_id: "42", price: 19.5});
 *   textpilot.identify({email: "ann@example.com", first_name: "Ann"});
 *
 * Calls made before this file has loaded are queued with the usual stub
 * (window.textpilot = window.textpilot || []; textpilot.push(["track", …])) and replayed here in
 * order. The visitor id lives in a first-party cookie (tp_vid) and goes with every call, so the
 * server can merge what an anonymous visitor did into their profile once they identify.
 */
(function (window, document) {
  "use strict";

  var COOKIE = "tp_vid";
  var COOKIE_MAX_AGE = 365 * 24 * 3600;
  var queued = window.textpilot;
  if (queued && queued.loaded) return; // the snippet was included twice: the first copy serves

  var script = document.currentScript || document.querySelector('script[src*="/js/textpilot.js"]');
  var key = script && script.getAttribute("data-key");
  var endpoint = (script ? new URL(script.src, window.location.href).origin : "") + "/api/public/v1/";
  if (!key) window.console && console.warn("textpilot: add data-key=\"pk_…\" to the script tag");

  function randomId() {
    var crypto = window.crypto;
    if (crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function readVisitorId() {
    var match = document.cookie.match(/(?:^|;\s*)tp_vid=([A-Za-z0-9_-]{8,64})(?:;|$)/);
    return match && match[1];
  }

  function writeVisitorId(id) {
    // Rewritten on every page load: the year runs from the last visit.
    document.cookie = COOKIE + "=" + id + "; Max-Age=" + COOKIE_MAX_AGE + "; Path=/; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }

  var visitorId = readVisitorId() || randomId();
  writeVisitorId(visitorId);

  var inFlight = Promise.resolve(true);

  function post(url, body) {
    if (window.fetch) {
      // text/plain makes this a "simple" cross-origin request: no preflight before each call.
      // keepalive lets a call made while the page unloads still arrive.
      return fetch(url, {
        method: "POST", body: body, keepalive: true, credentials: "omit",
        headers: {"Content-Type": "text/plain"}
      }).then(function (response) { return response.ok; }, function () { return false; });
    }
    return Promise.resolve(!!(navigator.sendBeacon && navigator.sendBeacon(url, body)));
  }

  function send(path, data) {
    data.key = key;
    data.anonymous_id = visitorId;
    var url = endpoint + path, body = JSON.stringify(data);
    // One call at a time, in order: an event sent while identify is merging the visitor's
    // profile could otherwise land on the profile being merged away. A hidden page may be
    // unloading, and a queued call would then never start: send those at once.
    if (document.visibilityState === "hidden") return post(url, body);
    inFlight = inFlight.then(function () { return post(url, body); });
    return inFlight;
  }

  var textpilot = {
    loaded: true,
    track: function (name, properties) {
      return send("track", {name: name, properties: properties || {}});
    },
    identify: function (traits) {
      var data = {};
      for (var name in traits) if (Object.prototype.hasOwnProperty.call(traits, name)) data[name] = traits[name];
      return send("identify", data);
    },
    // Call on log-out: whoever uses this browser next is a new visitor.
    reset: function () {
      visitorId = randomId();
      writeVisitorId(visitorId);
    },
    visitorId: function () { return visitorId; },
    push: function (call) {
      var method = call && textpilot[call[0]];
      return typeof method === "function" && call[0] !== "push" ? method.apply(textpilot, call.slice(1)) : undefined;
    }
  };

  window.textpilot = textpilot;
  if (queued && queued.length) for (var i = 0; i < queued.length; i++) textpilot.push(queued[i]);
})(window, document);
