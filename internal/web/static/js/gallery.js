// Gallery: infinite scroll (the next page arrives as an HTML fragment of
// tiles), multi-select with click, shift-click and select-all, and the bulk
// actions (tags, category, sensitivity, project through the JSON API; the
// zip through a plain form so the browser downloads it itself). It also
// remembers the order of the loaded tiles so the asset page can offer
// previous and next (asset.js).
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  if (!grid) { return; }
  var bar = document.getElementById("bulkbar");
  var countEl = document.getElementById("sel-count");
  var msg = document.getElementById("bulk-msg");
  var last = null; // index of the last checkbox clicked, for shift ranges

  function boxes() { return Array.prototype.slice.call(grid.querySelectorAll(".g-check")); }
  function selected() { return boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); }

  function remember() {
    var ids = Array.prototype.map.call(grid.querySelectorAll(".g-tile"), function (t) { return t.getAttribute("data-id"); });
    try {
      sessionStorage.setItem("tuku.gallery", JSON.stringify({ ids: ids, back: location.pathname + location.search }));
    } catch (e) { /* private mode: no previous/next */ }
  }

  function update() {
    var ids = selected();
    boxes().forEach(function (b) { b.closest(".g-tile").classList.toggle("is-selected", b.checked); });
    grid.classList.toggle("selecting", ids.length > 0);
    if (bar) {
      bar.hidden = ids.length === 0;
      var tpl = ids.length === 1 ? countEl.getAttribute("data-one") : countEl.getAttribute("data-many");
      countEl.textContent = tpl.replace("%d", String(ids.length));
    }
  }

  grid.addEventListener("click", function (ev) {
    var box = ev.target.closest(".g-check");
    var all = boxes();
    if (box) {
      var i = all.indexOf(box);
      if (ev.shiftKey && last !== null && last !== i) {
        var a = Math.min(last, i), b = Math.max(last, i);
        for (var k = a; k <= b; k++) { all[k].checked = box.checked; }
      }
      last = i;
      update();
      return;
    }
    // While selecting, a click on a tile toggles it instead of opening it.
    var link = ev.target.closest(".g-link");
    if (link && selected().length > 0) {
      ev.preventDefault();
      var cb = link.parentNode.querySelector(".g-check");
      var j = all.indexOf(cb);
      if (ev.shiftKey && last !== null) {
        var lo = Math.min(last, j), hi = Math.max(last, j);
        for (var m = lo; m <= hi; m++) { all[m].checked = true; }
      } else {
        cb.checked = !cb.checked;
      }
      last = j;
      update();
    } else if (link) {
      remember();
    }
  });

  var selAll = document.getElementById("sel-all");
  if (selAll) { selAll.addEventListener("click", function () { boxes().forEach(function (b) { b.checked = true; }); update(); }); }
  var selNone = document.getElementById("sel-none");
  if (selNone) { selNone.addEventListener("click", function () { boxes().forEach(function (b) { b.checked = false; }); last = null; update(); }); }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && selected().length > 0) { boxes().forEach(function (b) { b.checked = false; }); update(); }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "a" && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      ev.preventDefault(); boxes().forEach(function (b) { b.checked = true; }); update();
    }
  });

  // ---- bulk actions ----
  var zipForm = document.getElementById("zipform");
  if (zipForm) {
    zipForm.addEventListener("submit", function () {
      Array.prototype.slice.call(zipForm.querySelectorAll("input[name=id]")).forEach(function (n) { n.remove(); });
      selected().forEach(function (id) {
        var i = document.createElement("input");
        i.type = "hidden"; i.name = "id"; i.value = id;
        zipForm.appendChild(i);
      });
    });
  }

  function splitTags(s) {
    return s.split(/[,，;；、\n]/).map(function (t) { return t.trim(); }).filter(function (t) { return t !== ""; });
  }

  var actions = document.getElementById("bulk-actions");
  if (actions) {
    actions.addEventListener("click", function (ev) {
      var btn = ev.target.closest("[data-bulk]");
      if (!btn) { return; }
      var kind = btn.getAttribute("data-bulk");
      var body = { ids: selected() };
      if (kind === "add_tags" || kind === "remove_tags") {
        var input = document.getElementById(kind === "add_tags" ? "bulk-add" : "bulk-remove");
        var tags = splitTags(input.value);
        if (tags.length === 0) { input.focus(); return; }
        body[kind] = tags;
      } else {
        var sel = document.getElementById(kind === "project_id" ? "bulk-project" : "bulk-" + kind);
        if (!sel.value) { sel.focus(); return; }
        body[kind] = sel.value === "-" ? "" : sel.value;
      }
      btn.disabled = true;
      msg.textContent = "";
      fetch("/api/v1/assets/bulk", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, j: j }; });
      }).then(function (res) {
        btn.disabled = false;
        if (!res.ok) {
          msg.className = "g-bulk-msg is-error";
          msg.textContent = actions.getAttribute("data-error").replace("%s", (res.j.error && res.j.error.message) || "");
          return;
        }
        msg.className = "g-bulk-msg is-ok";
        msg.textContent = actions.getAttribute("data-done").replace("%d", String(res.j.changed));
        // The tiles may now belong elsewhere (moved, re-filtered): reload
        // the list as it is now, keeping the user's place in the filters.
        setTimeout(function () { location.reload(); }, 900);
      }).catch(function () {
        btn.disabled = false;
        msg.className = "g-bulk-msg is-error";
        msg.textContent = actions.getAttribute("data-error").replace("%s", actions.getAttribute("data-network") || "");
      });
    });
  }

  // ---- infinite scroll ----
  // The fragment URL (/gallery/more?filters&cursor=C) as the whole page it
  // continues: this page's own path and query with cursor C, which is how
  // the server renders the "Show more" link for browsers without script.
  function pageURL(frag) {
    var u = new URL(location.href);
    u.searchParams.set("cursor", new URL(frag, location.href).searchParams.get("cursor") || "");
    return u.pathname + u.search;
  }
  // A fragment answer that is not one: the session expired and the request
  // was sent on to the sign-in page (or anything else that is a whole page).
  function notFragment(r) {
    if (r.redirected) { return true; }
    try {
      if (r.url && new URL(r.url).pathname !== "/gallery/more") { return true; }
    } catch (e) { /* no usable URL: judge by the content */ }
    return false;
  }
  var loading = false;
  function loadMore() {
    var more = document.getElementById("more");
    if (!more || loading) { return; }
    var next = more.getAttribute("data-next");
    if (!next) { return; }
    loading = true;
    fetch(next, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (notFragment(r)) { return null; }
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.text();
    }).then(function (html) {
      if (html === null || /<!doctype|<html[\s>]|<body[\s>]/i.test(html)) {
        // Reload the page: it signs in again (and comes back) or shows
        // what is wrong. loading stays true so nothing else is fetched.
        location.reload();
        return;
      }
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      var marker = tpl.content.querySelector(".g-next-marker");
      var nextMore = marker ? marker.querySelector("#more") : null;
      if (marker) { marker.remove(); }
      grid.appendChild(tpl.content);
      if (nextMore) {
        var frag = nextMore.getAttribute("data-next");
        more.setAttribute("data-next", frag);
        more.querySelector("a").setAttribute("href", pageURL(frag));
      } else {
        more.remove();
      }
      loading = false;
      update();
      check();
    }).catch(function () { loading = false; });
  }
  // The "Show more" link works without script; with it, it loads in place.
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("#more-link")) { ev.preventDefault(); loadMore(); }
  });
  var io = null;
  function check() {
    var more = document.getElementById("more");
    if (!more) { return; }
    if (!io && "IntersectionObserver" in window) {
      io = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { loadMore(); }
      }, { rootMargin: "800px 0px" });
    }
    if (io) { io.disconnect(); io.observe(more); }
  }
  check();
  update();
})();
