// Admin pages: selects that apply on change. Everything works without
// this script too (plain forms with submit buttons). Confirmation of
// destructive actions (data-confirm) and copying one-time secrets
// (data-copy) are in app.js, which every page loads.
(function () {
  'use strict';

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
})();
