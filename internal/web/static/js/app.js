// Tuku's shared page helpers, loaded on every page (defer). No inline
// script anywhere (the CSP forbids it): pages mark elements with data-*
// attributes and their own script finds them.
//
// window.tuku:
//   api(method, url, body) -> Promise of the JSON answer (or null for 204);
//     body may be an object (sent as JSON) or FormData. A non-2xx answer
//     rejects with an Error whose message is the API's sentence and whose
//     .status and .code are set.
//   toast(text, kind) shows a short message ("ok", "error" or "").
//   text(key) reads a translated string from the first element carrying
//     a data-i18n-<key> attribute (pages render the strings their scripts
//     need into such attributes).
(function () {
  "use strict";

  function api(method, url, body) {
    var opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined && body !== null) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      if (res.status === 204) return null;
      var ct = res.headers.get("Content-Type") || "";
      var parsed = ct.indexOf("application/json") === 0 ? res.json() : res.text().then(function (t) { return { text: t }; });
      return parsed.then(function (data) {
        if (res.ok) return data;
        var e = (data && data.error) || {};
        var err = new Error(e.message || res.statusText || ("HTTP " + res.status));
        err.status = res.status;
        err.code = e.code || "";
        err.requestId = e.request_id || "";
        throw err;
      });
    });
  }

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast" + (kind ? " toast-" + kind : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, kind === "error" ? 8000 : 4000);
  }

  function text(key) {
    var el = document.querySelector("[data-i18n-" + key + "]");
    return el ? el.getAttribute("data-i18n-" + key) : key;
  }

  window.tuku = { api: api, toast: toast, text: text };

  // Side navigation on phones.
  var toggle = document.querySelector("[data-toggle=sidenav]");
  var nav = document.getElementById("sidenav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // The user menu closes on Escape and on a click elsewhere.
  var menu = document.querySelector(".usermenu");
  if (menu) {
    document.addEventListener("click", function (ev) {
      if (menu.open && !menu.contains(ev.target)) menu.open = false;
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  }

  // "/" focuses the search box (unless typing somewhere already).
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.querySelector("[data-hotkey='/']");
    if (box) {
      ev.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Forms with data-confirm ask first (destructive actions). This is the
  // only such handler (admin.js has none), so each action asks once;
  // cancelling stops the submit. (A select with data-autosubmit asks in
  // admin.js before calling form.submit(), which fires no submit event.)
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var q = f && f.getAttribute && f.getAttribute("data-confirm");
    if (q && !window.confirm(q)) {
      ev.preventDefault();
      ev.stopPropagation();
    }
  }, true);

  // Buttons with data-copy="ID" copy the text of element ID (one-time
  // secrets on the admin pages). On plain http (no clipboard API) the text
  // is selected so the person can copy it themselves.
  function selectText(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-copy]");
    if (!b) return;
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src) return;
    var value = src.textContent.trim();
    var done = function () {
      if (b.getAttribute("data-label") === null) b.setAttribute("data-label", b.textContent);
      b.textContent = "✓";
      setTimeout(function () { b.textContent = b.getAttribute("data-label"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, function () { selectText(src); });
    } else {
      selectText(src);
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected is enough */ }
    }
  });
})();
