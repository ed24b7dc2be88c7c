// The web terminal's service worker, served as /terminal/sw.js with the scope /terminal (terminal_offline.py).
// It keeps the sale's and the refund's first screens and their files, so the terminal opens with the network down:
// every request goes to the network first and the kept copy answers only when the network does not. Nothing but the
// shell is kept: no customer's page, no receipt, no purchase found for a refund (only the bare /terminal/refund). Uploads (POST) and requests made with cache "no-store" (the page's check that the
// server answers again) are never answered from here.
"use strict";

const CACHE = "coalition-terminal-v1";
const HOME = "/terminal";
const REFUND = "/terminal/refund";
const RECEIPTS = "/terminal/receipts/";
const NAVIGATION_RETRY_DELAYS_MS = [250, 500, 1000, 2000];
const RECEIPT_REFRESH_S = 3;
const PAGES = [HOME, REFUND];  // the screens that work offline (their offline forms are in terminal_offline.js)
const SHELL = [
  HOME,
  REFUND,
  "/terminal/manifest.webmanifest",
  "/static/app.css",
  "/static/terminal.css",
  "/static/terminal.js",
  "/static/terminal_offline.js",
  "/static/terminal-icon.svg",
  "/static/terminal-icon-192.png",
];

function keepable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

self.addEventListener("install", function (event) {
  // each file on its own: the home page is kept only when a cashier is signed in (else it is the sign-in's redirect)
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        return keepable(response) ? cache.put(url, response) : undefined;
      }).catch(function () { return undefined; });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.startsWith("coalition-terminal-") && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromNetworkKeeping(request, key) {
  return fetch(request).then(function (response) {
    if (keepable(response)) {
      const copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
    }
    return response;
  });
}

function kept(key) {
  return caches.open(CACHE).then(function (cache) { return cache.match(key, { ignoreSearch: true }); });
}

function offlineAnswer() {
  return new Response("The terminal cannot reach the server, and this device keeps no copy of it yet.", {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

function pause(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

function fetchRetrying(request, delays) {
  return fetch(request).catch(function (error) {
    if (!delays.length) throw error;
    return pause(delays[0]).then(function () { return fetchRetrying(request, delays.slice(1)); });
  });
}

// The purchase is booked (the server answered with its receipt's address); only the receipt's page did not come.
function receiptLater() {
  const page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
    "<meta http-equiv=\"refresh\" content=\"" + RECEIPT_REFRESH_S + "\"><title>Receipt on its way</title>" +
    "<link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main id=\"main\" class=\"card\">" +
    "<h1>Receipt on its way</h1><p role=\"status\">The purchase is booked. Its receipt shows as soon as the " +
    "server answers again; this page tries again by itself.</p></main></body></html>";
  return new Response(page, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || request.cache === "no-store") return;
  if (request.mode === "navigate") {
    if (request.method !== "GET") {
      // a step of a sale posted while the network is down: back to the first screen, which sells offline
      event.respondWith(fetch(request).catch(function () { return Response.redirect(HOME + "?offline=1", 303); }));
      return;
    }
    if (PAGES.indexOf(url.pathname) >= 0) {
      // kept from the network only at its bare address: /terminal/refund?purchase=… is a search, not the screen
      const answer = url.search ? fetch(request) : fromNetworkKeeping(request, url.pathname);
      event.respondWith(answer.catch(function () {
        return kept(url.pathname).then(function (found) { return found || offlineAnswer(); });
      }));
      return;
    }
    // a network just back (or flapping) fails a request or two: a receipt or a customer's page is asked for again
    // before the terminal gives up on it; a receipt is never swapped for the first screen, where a cashier who sees
    // no receipt might sell the same basket again
    event.respondWith(fetchRetrying(request, NAVIGATION_RETRY_DELAYS_MS).catch(function () {
      if (url.pathname.startsWith(RECEIPTS)) return receiptLater();
      return kept(HOME).then(function (found) { return found ? Response.redirect(HOME, 303) : offlineAnswer(); });
    }));
    return;
  }
  if (request.method === "GET" && SHELL.indexOf(url.pathname) >= 0 && PAGES.indexOf(url.pathname) < 0) {
    event.respondWith(fromNetworkKeeping(request, url.pathname).catch(function () {
      return kept(url.pathname).then(function (found) { return found || offlineAnswer(); });
    }));
  }
});
