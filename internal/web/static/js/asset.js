// Asset page: previous/next through the gallery the user came from (its
// order is left in sessionStorage by gallery.js), by the buttons, the ←
// and → keys and horizontal swipes; click to zoom (the large rendition,
// scrollable), Escape to zoom out.
(function () {
  "use strict";
  var root = document.getElementById("asset");
  if (!root) { return; }
  var id = root.getAttribute("data-id");
  var prev = document.getElementById("a-prev");
  var next = document.getElementById("a-next");
  var back = document.getElementById("a-back");
  var list = null;
  try { list = JSON.parse(sessionStorage.getItem("tuku.gallery") || "null"); } catch (e) { list = null; }
  if (list && list.ids) {
    var i = list.ids.indexOf(id);
    if (i >= 0) {
      if (i > 0) { prev.href = "/assets/" + list.ids[i - 1]; prev.hidden = false; }
      if (i < list.ids.length - 1) { next.href = "/assets/" + list.ids[i + 1]; next.hidden = false; }
      if (list.back && back) { back.href = list.back; }
    }
  }
  function go(a) { if (a && !a.hidden && a.href) { location.href = a.href; } }

  var zoom = document.getElementById("a-zoom");
  var img = document.getElementById("a-img");
  var fig = document.getElementById("a-figure");
  function setZoom(on) {
    fig.classList.toggle("is-zoomed", on);
    zoom.setAttribute("aria-pressed", on ? "true" : "false");
    if (on && img.getAttribute("data-large") && img.src.indexOf("size=large") < 0) {
      img.src = img.getAttribute("data-large");
    }
  }
  zoom.addEventListener("click", function () { setZoom(!fig.classList.contains("is-zoomed")); });

  document.addEventListener("keydown", function (ev) {
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName) || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    if (ev.key === "ArrowLeft") { go(prev); }
    if (ev.key === "ArrowRight") { go(next); }
    if (ev.key === "Escape") { setZoom(false); }
  });

  var x0 = null, y0 = null;
  fig.addEventListener("touchstart", function (ev) {
    if (ev.touches.length === 1) { x0 = ev.touches[0].clientX; y0 = ev.touches[0].clientY; }
  }, { passive: true });
  fig.addEventListener("touchend", function (ev) {
    if (x0 === null || fig.classList.contains("is-zoomed")) { x0 = null; return; }
    var dx = ev.changedTouches[0].clientX - x0, dy = ev.changedTouches[0].clientY - y0;
    x0 = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) { go(dx > 0 ? prev : next); }
  });
})();
