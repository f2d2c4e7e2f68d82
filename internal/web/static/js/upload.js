// Upload: every file goes on its own to POST /api/v1/assets (the session
// cookie authenticates it), three at a time, with its own progress bar and
// its own result: imported, already in Tuku (with a link to the existing
// image) or not imported with the API's reason, which is a sentence
// written for people.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var customer = document.getElementById("u-customer");
  var project = document.getElementById("u-project");
  var files = document.getElementById("u-files");
  var camera = document.getElementById("u-camera");
  var drop = document.getElementById("dropzone");
  var results = document.getElementById("u-results");
  var summary = document.getElementById("u-summary");
  var max = parseInt(form.getAttribute("data-max"), 10) || 0;
  var msg = function (k) { return form.getAttribute("data-msg-" + k) || k; };
  var errors = {};
  try { errors = JSON.parse(form.getAttribute("data-errors") || "{}"); } catch (e) { errors = {}; }
  var english = (document.documentElement.lang || "").indexOf("en") === 0;
  var queue = [];
  var running = 0;
  var counts = { imported: 0, duplicate: 0, rejected: 0 };
  var PARALLEL = 3;

  // humanSize mirrors the server's formatSize (i18n.go): below 1024 a
  // whole number of bytes ("B", in Chinese "字节"), then KB, MB, GB, TB, PB
  // in steps of 1024 with one decimal below 100 and none from 100 on.
  var zh = document.documentElement.lang === "zh-CN";
  // fixed is v.toFixed(d) but, like Go's fmt, rounds an exact half to even.
  function fixed(v, d) {
    var m = d ? 10 : 1, s = v * m, f = Math.floor(s);
    if (s - f === 0.5 && f % 2 === 0) { return (f / m).toFixed(d); }
    return v.toFixed(d);
  }
  function humanSize(n) {
    if (n < 1024) { return n + (zh ? " 字节" : " B"); }
    var units = ["KB", "MB", "GB", "TB", "PB"];
    var v = n, i = -1;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return fixed(v, v >= 100 ? 0 : 1) + " " + units[i];
  }

  // Projects follow the chosen customer.
  customer.addEventListener("change", function () {
    var keep = project.options[0];
    project.innerHTML = "";
    project.appendChild(keep);
    project.value = "";
    if (!customer.value) { return; }
    fetch("/api/v1/customers/" + encodeURIComponent(customer.value) + "/projects", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { projects: [] }; })
      .then(function (j) {
        (j.projects || []).forEach(function (p) {
          var o = document.createElement("option");
          o.value = p.id; o.textContent = p.name;
          project.appendChild(o);
        });
      });
  });

  function row(file) {
    var li = document.createElement("li");
    li.className = "g-result is-waiting";
    var name = document.createElement("span");
    name.className = "g-result-name";
    name.textContent = file.name + " · " + humanSize(file.size);
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var status = document.createElement("span");
    status.className = "g-result-status";
    status.textContent = msg("waiting");
    li.appendChild(name); li.appendChild(bar); li.appendChild(status);
    results.appendChild(li);
    return { li: li, bar: bar, status: status };
  }

  function finish(r, kind, text, link, linkText) {
    counts[kind]++;
    r.li.className = "g-result is-" + kind;
    r.li.setAttribute("data-status", kind);
    r.bar.value = 100;
    r.bar.hidden = true;
    r.status.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = linkText; a.className = "g-result-link";
      r.status.appendChild(document.createTextNode(" · "));
      r.status.appendChild(a);
    }
    summary.textContent = msg("summary").replace("%d", counts.imported).replace("%d", counts.duplicate).replace("%d", counts.rejected);
  }

  function send(job) {
    running++;
    var fd = new FormData();
    // Text fields first: the API reads them before the file streams in.
    fd.append("customer_id", job.customer);
    if (job.project) { fd.append("project_id", job.project); }
    if (job.tags) { fd.append("tags", job.tags); }
    if (job.description) { fd.append("description", job.description); }
    if (job.category) { fd.append("category", job.category); }
    fd.append("file", job.file, job.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/assets");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) { job.r.bar.value = Math.round(ev.loaded * 100 / ev.total); }
    });
    job.r.li.className = "g-result is-sending";
    job.r.status.textContent = "";
    xhr.onload = function () {
      var j = null;
      try { j = JSON.parse(xhr.responseText); } catch (e) { j = null; }
      if (xhr.status < 300 && j && j.asset && j.status === "duplicate") {
        finish(job.r, "duplicate", msg("duplicate"), "/assets/" + j.asset.id, msg("existing"));
      } else if (xhr.status < 300 && j && j.asset) {
        finish(job.r, "imported", msg("imported") + " · " + j.asset.name, "/assets/" + j.asset.id, msg("open"));
      } else {
        var code = j && j.error && j.error.code, server = j && j.error && j.error.message;
        // English pages show the server's own sentence (it names what the
        // file is, e.g. "a PDF document"); other languages show their own
        // words for the code, with the server's sentence as a detail.
        var local = code && errors[code];
        if (english && server) {
          finish(job.r, "rejected", msg("rejected") + ": " + server);
        } else {
          finish(job.r, "rejected", msg("rejected") + ": " + (local || server || String(xhr.status)));
          if (local && server) {
            var det = document.createElement("span");
            det.className = "g-result-detail muted small";
            det.lang = "en";
            det.textContent = server;
            job.r.status.appendChild(det);
          }
        }
      }
      done();
    };
    xhr.onerror = function () { finish(job.r, "rejected", msg("rejected") + ": " + msg("network")); done(); };
    xhr.send(fd);
  }

  function done() { running--; pump(); }
  function pump() {
    while (running < PARALLEL && queue.length > 0) { send(queue.shift()); }
  }

  function add(list) {
    if (!customer.value) {
      customer.focus();
      summary.textContent = msg("nocustomer");
      return;
    }
    Array.prototype.forEach.call(list, function (file) {
      var r = row(file);
      // Too large is known before sending: say so at once.
      if (max > 0 && file.size > max) {
        finish(r, "rejected", msg("rejected") + ": " + msg("toolarge").replace("%s", humanSize(max)));
        return;
      }
      queue.push({
        file: file, r: r, customer: customer.value, project: project.value,
        // The API splits tags on ASCII commas; people type Chinese ones too.
        tags: document.getElementById("u-tags").value.replace(/[，、;；]/g, ","),
        description: document.getElementById("u-description").value,
        category: document.getElementById("u-category").value
      });
    });
    pump();
  }

  files.addEventListener("change", function () { add(files.files); files.value = ""; });
  if (camera) { camera.addEventListener("change", function () { add(camera.files); camera.value = ""; }); }
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add("is-over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.remove("is-over"); });
  });
  drop.addEventListener("drop", function (ev) { if (ev.dataTransfer && ev.dataTransfer.files) { add(ev.dataTransfer.files); } });
  drop.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); files.click(); }
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
})();
