// The cashier's terminal: one submit per form (a double tap never sends twice), the confirm posted with fetch and
// retried with the same attempt key until the server answers, and the camera scanner where the browser has one.
"use strict";

(function () {
  const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];
  const REQUEST_TIMEOUT_MS = 15000;

  function csrfToken(form) {
    const field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // Plain forms: the first submit goes, later ones (a double tap) are dropped. The buttons are disabled only after
  // the browser has read the form, so the pressed button's own name and value are still sent.
  function submitOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
      }, 0);
    });
  }

  function show(element, text) {
    element.textContent = text;
    element.hidden = false;
  }

  function hide(element) {
    element.hidden = true;
    element.textContent = "";
  }

  // The confirm: the same body and key on every try, so the server books once and answers each try with the first
  // result. A lost connection or a gateway error is retried with backoff (and at once when the browser is online
  // again); any other answer ends the attempt.
  function confirmWithRetries(form) {
    const button = form.querySelector('button[type="submit"]');
    const status = document.getElementById("connection-status");
    const errorBox = document.getElementById("confirm-error");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.sent === "1") return;
      form.dataset.sent = "1";
      button.disabled = true;
      hide(errorBox);
      const body = new URLSearchParams(new FormData(form));
      attempt(body, 0);
    });

    function attempt(body, tries) {
      const controller = new AbortController();
      const timer = window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(form), "X-Requested-With": "fetch", "Accept": "application/json" },
        signal: controller.signal,
      }).then(function (response) {
        window.clearTimeout(timer);
        if (response.status >= 502 && response.status <= 504) throw new Error("gateway " + response.status);
        return response.json().then(function (answer) { finish(response, answer, body, tries); });
      }).catch(function () {
        window.clearTimeout(timer);
        retryLater(body, tries);
      });
    }

    function finish(response, answer, body, tries) {
      if (response.ok && answer.receipt_url) {
        window.location.assign(answer.receipt_url);
        return;
      }
      if (response.status === 401) {
        window.location.assign("/terminal/login?next=/terminal");
        return;
      }
      hide(status);
      show(errorBox, answer.detail || answer.title || String(response.status));
      delete form.dataset.sent;  // refused: nothing was stored, so the same attempt may be sent again
      button.disabled = false;
    }

    function retryLater(body, tries) {
      show(status, form.dataset.offline);
      const delay = RETRY_DELAYS_MS[Math.min(tries, RETRY_DELAYS_MS.length - 1)];
      let done = false;
      function again() {
        if (done) return;
        done = true;
        window.removeEventListener("online", again);
        attempt(body, tries + 1);
      }
      window.addEventListener("online", again);
      window.setTimeout(again, delay);
    }
  }

  // The camera: only where the browser can both open it and read barcodes; otherwise the button stays hidden.
  function scanner() {
    const button = document.getElementById("scan");
    if (!button) return;
    const supported = "BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
    if (!supported) return;
    button.hidden = false;
    const panel = document.getElementById("scanner");
    const video = document.getElementById("scanner-video");
    const status = document.getElementById("scanner-status");
    const input = document.getElementById("customer");
    let stream = null;
    let timer = null;

    function stop() {
      if (timer) window.clearInterval(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      panel.hidden = true;
      button.hidden = false;
    }

    async function start() {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        const detector = new window.BarcodeDetector(formats.length ? { formats: formats } : undefined);
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
        video.srcObject = stream;
        await video.play();
        panel.hidden = false;
        button.hidden = true;
        timer = window.setInterval(async function () {
          const found = await detector.detect(video).catch(function () { return []; });
          if (found.length && found[0].rawValue) {
            input.value = found[0].rawValue.trim();
            stop();
            input.form.requestSubmit();
          }
        }, 250);
      } catch (error) {
        stop();
        show(status, button.dataset.error);
        panel.hidden = false;
        video.hidden = true;
      }
    }

    button.addEventListener("click", start);
    document.getElementById("scan-stop").addEventListener("click", stop);
  }

  // Enrolment: the personal fields only for a personal card (without the script they stay, and the server ignores
  // them for an anonymous card).
  function personalFields() {
    const fields = document.getElementById("personal-fields");
    if (!fields) return;
    const radios = document.querySelectorAll('input[name="kind"]');
    function update() {
      const anonymous = document.querySelector('input[name="kind"]:checked').value === "anonymous";
      fields.hidden = anonymous;
      fields.disabled = anonymous;
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("main form").forEach(function (form) {
      if (form.id === "confirm") confirmWithRetries(form);
      else submitOnce(form);
    });
    scanner();
    personalFields();
  });

  // Back to a page kept in the browser's cache: its forms may be sent again (a confirm sent again with its key
  // books nothing new: it answers with the receipt of the first).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("main form").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    });
  });
})();
