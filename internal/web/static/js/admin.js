// Admin pages: confirmation of destructive actions, copying one-time
// secrets, and selects that apply on change. Everything works without
// this script too (plain forms with submit buttons).
(function () {
  'use strict';

  // A form with data-confirm asks before it submits.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var msg = form && form.getAttribute && form.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  }, true);

  // A select with data-autosubmit submits its form when changed; its
  // submit button is then not needed.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (sel) {
    var form = sel.form;
    if (!form) return;
    form.querySelectorAll('.js-hide').forEach(function (b) { b.hidden = true; });
    sel.addEventListener('change', function () {
      var msg = form.getAttribute('data-confirm');
      if (msg && !window.confirm(msg)) return;
      form.submit();
    });
  });

  // data-copy="ID" copies the text of element ID.
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el) return;
      var text = el.textContent.trim();
      var done = function () {
        var label = btn.textContent;
        btn.textContent = '✓';
        setTimeout(function () { btn.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(el); });
      } else {
        selectText(el); // plain http on an intranet: let the person copy
        try { if (document.execCommand('copy')) done(); } catch (e) { /* selected is enough */ }
      }
    });
  });

  function selectText(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }
})();
