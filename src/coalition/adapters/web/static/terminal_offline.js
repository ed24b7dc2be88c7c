// The web terminal offline (docs/terminal.md "Offline"): the service worker that keeps the terminal's first screens
// (the sale's and the refund's), the sales and refunds queued in IndexedDB while the server cannot be reached, and
// their upload when it can again.
//
// A queued sale is {key (a UUID), owner (this outlet's terminal and cashier), customer, amount, occurred_at (the
// device's time with its offset), refused (the server's reason, once it refused it)}. A queued refund is {kind:
// "refund", key, owner, sale_key (a queued sale's key) or purchase (a receipt or purchase id as typed), amount ("":
// all that is left), occurred_at, refused}. Only the signed-in cashier's own are shown and sent, in the order they
// were kept; the server records an upload's sales before its refunds. It answers each by its key: recorded or
// replayed ones leave the queue, refused ones stay with their reason until the cashier removes them. A refund of a
// kept sale the server refused (or that the cashier removed once refused) is not sent: it stays, refused because
// its sale was. Offline sales only earn points.
"use strict";

(function () {
  const DB_NAME = "coalition-terminal";
  const STORE = "offline-sales";
  const UPLOAD_PART = 50;
  const RETRY_MS = 20000;
  // a network just back (or flapping) fails a request or two: a failed upload is tried again after these, then at the
  // next round of RETRY_MS
  const UPLOAD_RETRY_DELAYS_MS = [250, 500, 1000, 2000];
  const REQUEST_TIMEOUT_MS = 15000;
  const AMOUNT = /^[0-9]{1,12}([.,][0-9]{1,2})?$/;
  const SPACES = /[\s\u00a0\u202f\u2009']/g;

  let queueBox = null;  // the banner: present on every terminal page of a signed-in cashier
  // the service worker sends a step of a sale posted without network back to /terminal?offline=1
  let unreachable = new URLSearchParams(window.location.search).get("offline") === "1";
  if (unreachable) window.history.replaceState(null, "", window.location.pathname);
  let uploading = false;
  let quickRetries = 0;  // of UPLOAD_RETRY_DELAYS_MS, since the network came back or the server last answered
  let quickRetry = null;  // the timer of the next one

  function text(template, values) {
    return Object.keys(values).reduce(function (result, name) {
      return result.split("{" + name + "}").join(values[name]);
    }, template || "");
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The device's time with its offset (2026-12-06T21:40:05+03:00): the server prices the sale at this moment.
  function nowWithOffset() {
    const now = new Date();
    const pad = function (n) { return String(Math.abs(n)).padStart(2, "0"); };
    const offset = -now.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + "T" + pad(now.getHours()) +
      ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds()) + sign + pad(Math.floor(Math.abs(offset) / 60)) +
      ":" + pad(Math.abs(offset) % 60);
  }

  // --- the queue in IndexedDB ---------------------------------------------------------------------------------

  function database() {
    return new Promise(function (resolve, reject) {
      const opened = window.indexedDB.open(DB_NAME, 1);
      opened.onupgradeneeded = function () { opened.result.createObjectStore(STORE, { keyPath: "key" }); };
      opened.onsuccess = function () { resolve(opened.result); };
      opened.onerror = function () { reject(opened.error); };
    });
  }

  function inStore(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        const transaction = db.transaction(STORE, mode);
        const result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { db.close(); resolve(result && result.result); };
        transaction.onerror = function () { db.close(); reject(transaction.error); };
      });
    });
  }

  function mine() {
    const owner = queueBox.dataset.owner;
    return inStore("readonly", function (store) { return store.getAll(); }).then(function (all) {
      return (all || []).filter(function (sale) { return sale.owner === owner; })
        .sort(function (a, b) { return a.queued - b.queued; });
    });
  }

  function isRefund(item) { return item.kind === "refund"; }

  // The refunds waiting in `all` that are of one of the kept sales `saleKeys`.
  function refundsOf(all, saleKeys) {
    return all.filter(function (entry) {
      return isRefund(entry) && !entry.refused && entry.sale_key && saleKeys.indexOf(entry.sale_key) >= 0;
    });
  }

  function saleRefused(refund) { return keep(Object.assign({}, refund, { refused: queueBox.dataset.saleRefused })); }

  function keep(sale) { return inStore("readwrite", function (store) { return store.put(sale); }); }
  function drop(key) { return inStore("readwrite", function (store) { return store.delete(key); }); }

  // --- what the page shows ------------------------------------------------------------------------------------

  function offline() { return !navigator.onLine || unreachable; }

  function money(amount) {
    const currency = queueBox.dataset.currency;
    try {
      return new Intl.NumberFormat(queueBox.dataset.language || "en", { style: "currency", currency: currency })
        .format(Number(amount));
    } catch (error) {
      return currency + " " + amount;
    }
  }

  // A kept sale as the banner and the refund's list of sales name it.
  function saleText(sale) { return sale.customer + " · " + money(sale.amount); }

  function refundText(refund, all) {
    const amount = refund.amount ? money(refund.amount) : queueBox.dataset.allLeft;
    if (!refund.sale_key) return text(queueBox.dataset.refundOfReceipt, { receipt: refund.purchase, amount: amount });
    const sale = all.find(function (each) { return each.key === refund.sale_key && !isRefund(each); });
    return text(queueBox.dataset.refundOfSale, { sale: sale ? saleText(sale) : refund.sale_key, amount: amount });
  }

  function queueItem(entry, label) {
    const item = document.createElement("li");
    item.dataset.key = entry.key;
    const what = document.createElement("span");
    what.textContent = label;
    item.appendChild(what);
    if (entry.refused) {
      item.className = "refused";
      const why = document.createElement("span");
      why.className = "error";
      why.textContent = text(queueBox.dataset.refused, { reason: entry.refused });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = queueBox.dataset.remove;
      remove.addEventListener("click", function () {
        // a refused sale's refunds stay, refused with it: without the sale in the queue they would be sent
        const orphaned = isRefund(entry) ? Promise.resolve() : mine().then(function (all) {
          return Promise.all(refundsOf(all, [entry.key]).map(saleRefused));
        });
        orphaned.then(function () { return drop(entry.key); }).then(render);
      });
      item.appendChild(why);
      item.appendChild(remove);
    }
    return item;
  }

  // The screen offline (its offline form, from its template) or online, for the sale's and the refund's screens.
  function screens() {
    [["online-sale-section", "offline-sale-section", offlineForm],
      ["online-refund-section", "offline-refund-section", offlineRefundForm]].forEach(function (pair) {
      const online = document.getElementById(pair[0]);
      const section = offline() ? pair[2]() : document.getElementById(pair[1]);
      if (section) section.hidden = !offline();
      if (online) online.hidden = offline();
    });
  }

  function render() {
    if (!queueBox) return Promise.resolve();
    screens();
    return mine().then(function (all) {
      const waiting = all.filter(function (entry) { return !entry.refused; });
      const sales = all.filter(function (entry) { return !isRefund(entry); });
      const refunds = all.filter(isRefund);
      const list = document.getElementById("offline-queue-list");
      const refundList = document.getElementById("offline-refund-list");
      list.textContent = "";
      refundList.textContent = "";
      sales.forEach(function (sale) { list.appendChild(queueItem(sale, saleText(sale))); });
      refunds.forEach(function (refund) { refundList.appendChild(queueItem(refund, refundText(refund, all))); });
      document.getElementById("offline-sales-heading").hidden = !sales.length || !refunds.length;
      document.getElementById("offline-refunds-heading").hidden = !refunds.length;
      document.getElementById("offline-queue-count").textContent =
        text(queueBox.dataset.awaiting, { count: String(waiting.length) });
      const note = document.getElementById("offline-queue-note");
      if (!note.dataset.fixed) note.textContent = offline() && waiting.length ? queueBox.dataset.offline : "";
      queueBox.hidden = all.length === 0 && !note.dataset.fixed;
      saleChoices(sales.filter(function (sale) { return !sale.refused; }));
    });
  }

  function say(message) {
    const note = document.getElementById("offline-queue-note");
    note.textContent = message;
    note.dataset.fixed = message ? "1" : "";
  }

  // --- selling offline ----------------------------------------------------------------------------------------

  // The offline sale's screen, put on the page (from its template) the first time the server cannot be reached.
  function offlineForm() {
    const shown = document.getElementById("offline-sale-section");
    const template = document.getElementById("offline-sale-template");
    if (shown || !template) return shown;
    const section = template.content.firstElementChild.cloneNode(true);
    template.parentNode.insertBefore(section, template);
    const form = section.querySelector("#offline-sale");
    const error = document.getElementById("offline-sale-error");
    const done = document.getElementById("offline-sale-done");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const customer = form.elements.customer.value.trim();
      const amount = form.elements.amount.value.replace(SPACES, "").replace(",", ".");
      done.hidden = true;
      if (!customer || !AMOUNT.test(amount) || Number(amount) <= 0) {
        error.textContent = customer ? error.dataset.amount : error.dataset.customer;
        error.hidden = false;
        (customer ? form.elements.amount : form.elements.customer).focus();
        return;
      }
      error.hidden = true;
      const sale = {
        key: newKey(), owner: queueBox.dataset.owner, customer: customer, amount: amount,
        occurred_at: nowWithOffset(), queued: Date.now(), refused: null,
      };
      keep(sale).then(function () {
        done.textContent = text(done.dataset.text, { customer: customer, amount: money(amount) });
        done.hidden = false;
        form.reset();
        form.elements.customer.focus();
        return render();
      }).then(upload);
    });
    // a card typed on the first screen before the network went: the offline form starts from it
    const typed = window.sessionStorage.getItem("coalition-customer");
    if (typed) form.elements.customer.value = typed;
    return section;
  }

  // --- refunding offline --------------------------------------------------------------------------------------

  function cents(amount) { return Math.round(Number(amount) * 100); }

  // The offline refund's screen, put on the refund's page (from its template) while the server cannot be reached:
  // of a sale kept here (chosen from the list) or of a purchase by its receipt; of an amount, or of all that is left.
  function offlineRefundForm() {
    const shown = document.getElementById("offline-refund-section");
    const template = document.getElementById("offline-refund-template");
    if (shown || !template) return shown;
    const section = template.content.firstElementChild.cloneNode(true);
    template.parentNode.insertBefore(section, template);
    const form = section.querySelector("#offline-refund");
    const error = document.getElementById("offline-refund-error");
    const done = document.getElementById("offline-refund-done");
    const receipt = document.getElementById("offline-refund-receipt");
    form.elements.sale.addEventListener("change", function () { receipt.hidden = !!form.elements.sale.value; });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const saleKey = form.elements.sale.value;
      const purchase = saleKey ? "" : form.elements.purchase.value.trim();
      const amount = form.elements.amount.value.replace(SPACES, "").replace(",", ".");
      done.hidden = true;
      function refuse(message, field) {
        error.textContent = message;
        error.hidden = false;
        field.focus();
      }
      if (!saleKey && !purchase) return refuse(error.dataset.purchase, form.elements.purchase);
      if (amount && (!AMOUNT.test(amount) || Number(amount) <= 0)) {
        return refuse(error.dataset.amount, form.elements.amount);
      }
      mine().then(function (all) {
        const sale = all.find(function (each) { return each.key === saleKey && !isRefund(each); });
        if (saleKey && !sale) return refuse(error.dataset.purchase, form.elements.sale);
        if (sale && amount && cents(amount) > cents(sale.amount)) {
          return refuse(text(error.dataset.tooMuch, { amount: money(sale.amount) }), form.elements.amount);
        }
        error.hidden = true;
        const refund = {
          kind: "refund", key: newKey(), owner: queueBox.dataset.owner, sale_key: saleKey || null,
          purchase: purchase || null, amount: amount, occurred_at: nowWithOffset(), queued: Date.now(), refused: null,
        };
        return keep(refund).then(function () {
          done.textContent = text(done.dataset.text, {
            purchase: sale ? saleText(sale) : purchase, amount: amount ? money(amount) : queueBox.dataset.allLeft,
          });
          done.hidden = false;
          form.reset();
          receipt.hidden = false;
          return render();
        }).then(upload);
      });
    });
    return section;
  }

  // The sales kept here, offered for a refund (the choice made is kept when the list is drawn again).
  function saleChoices(sales) {
    const select = document.getElementById("offline-refund-sale");
    if (!select) return;
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    sales.forEach(function (sale) {
      const option = document.createElement("option");
      option.value = sale.key;
      option.textContent = saleText(sale);
      select.appendChild(option);
    });
    select.value = sales.some(function (sale) { return sale.key === chosen; }) ? chosen : "";
    document.getElementById("offline-refund-receipt").hidden = !!select.value;
  }

  // The first screen's card: kept for the offline sale in case the post does not get through; without network it
  // goes to the offline sale at once (terminal.js sends nothing).
  function firstScreen() {
    const identify = document.getElementById("identify");
    if (!identify) return;
    identify.addEventListener("submit", function (event) {
      window.sessionStorage.setItem("coalition-customer", identify.elements.customer.value.trim());
      if (!offline()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      render().then(function () {
        document.getElementById("offline-customer").value = identify.elements.customer.value.trim();
      });
    }, true);
  }

  // --- uploading ----------------------------------------------------------------------------------------------

  // What the server is sent of a part of the queue: its sales, then its refunds (each list in the order kept).
  function sent(part) {
    return {
      sales: part.filter(function (entry) { return !isRefund(entry); }),
      refunds: part.filter(isRefund),
    };
  }

  function post(part) {
    const controller = new AbortController();
    const timer = window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    const lists = sent(part);
    const body = JSON.stringify({
      sales: lists.sales.map(function (sale) {
        return { key: sale.key, customer: sale.customer, amount: sale.amount, occurred_at: sale.occurred_at };
      }),
      refunds: lists.refunds.map(function (refund) {
        const named = refund.sale_key ? { sale_key: refund.sale_key } : { purchase: refund.purchase };
        return Object.assign({ key: refund.key, occurred_at: refund.occurred_at }, named,
          refund.amount ? { amount: refund.amount } : {});
      }),
    });
    return fetch("/terminal/offline-sales", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": queueBox.dataset.csrf,
        "X-Requested-With": "fetch",
      },
      signal: controller.signal,
    }).finally(function () { window.clearTimeout(timer); });
  }

  // One part of the queue: each answer updates its sale or refund. A whole part refused for one item's field
  // (sales[3].amount, refunds[0].purchase) marks that one refused, so the others go at the next try.
  function settle(part, response) {
    return response.json().catch(function () { return {}; }).then(function (answer) {
      if (response.ok && Array.isArray(answer.results)) {
        let settled = 0;
        return Promise.all(answer.results.map(function (result) {
          const sale = part.find(function (each) { return each.key === result.key; });
          if (!sale) return undefined;
          settled += 1;
          if (result.outcome === "refused") return keep(Object.assign({}, sale, { refused: result.reason }));
          return drop(sale.key);
        })).then(function () { return settled > 0; });  // an answer about none of them: not again at once
      }
      if (response.status === 401 || response.status === 403) {
        say(queueBox.dataset.signIn);
        return false;
      }
      const found = /^(sales|refunds)\[(\d+)\]/.exec(answer.field || "");
      const culprit = found && sent(part)[found[1]][Number(found[2])];
      if (response.status === 422 && culprit) {
        return keep(Object.assign({}, culprit, { refused: answer.detail || answer.title }))
          .then(function () { return true; });
      }
      return false;  // the server is busy or out of reach: later
    });
  }

  function upload() {
    if (!queueBox || uploading || !navigator.onLine) return Promise.resolve();
    uploading = true;
    function next() {
      return mine().then(function (all) {
        // a refund of a sale the server refused stays, refused because its sale was, instead of being sent
        const refusedSales = all.filter(function (entry) { return !isRefund(entry) && entry.refused; });
        const orphans = refundsOf(all, refusedSales.map(function (sale) { return sale.key; }));
        return Promise.all(orphans.map(saleRefused)).then(function () {
          return all.filter(function (entry) { return !entry.refused && orphans.indexOf(entry) < 0; });
        });
      }).then(function (sales) {
        const part = sales.slice(0, UPLOAD_PART);
        if (!part.length) return probe();
        return post(part).then(function (response) {
          unreachable = false;
          quickRetries = 0;
          return settle(part, response).then(function (goOn) {
            if (goOn) say("");
            return render().then(function () { return goOn ? next() : undefined; });
          });
        });
      });
    }
    return next().catch(function () { unreachable = true; retrySoon(); }).finally(function () {
      uploading = false;
      return render();
    });
  }

  function retrySoon() {
    if (quickRetry !== null || quickRetries >= UPLOAD_RETRY_DELAYS_MS.length) return;
    quickRetry = window.setTimeout(function () { quickRetry = null; upload(); }, UPLOAD_RETRY_DELAYS_MS[quickRetries]);
    quickRetries += 1;
  }

  // With nothing to send, whether the server answers again (past the service worker: cache "no-store").
  function probe() {
    if (!unreachable) return Promise.resolve();
    return fetch("/terminal/manifest.webmanifest", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { if (response.ok) unreachable = false; });
  }

  function signOutForgets() {
    // the kept first screen is this cashier's: the next one must not open it
    document.querySelectorAll('form[action="/terminal/logout"]').forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!("caches" in window) || form.dataset.forgotten) return;
        event.preventDefault();
        form.dataset.forgotten = "1";
        window.sessionStorage.removeItem("coalition-customer");
        window.caches.delete("coalition-terminal-v1").finally(function () { form.submit(); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    queueBox = document.getElementById("offline-queue");
    if (!queueBox) return;
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/terminal/sw.js", { scope: "/terminal" }).catch(function () {});
    }
    firstScreen();
    signOutForgets();
    window.addEventListener("online", function () {
      unreachable = false;
      quickRetries = 0;
      render().then(upload);
    });
    window.addEventListener("offline", render);
    window.setInterval(upload, RETRY_MS);
    render().then(upload);
  });
})();
