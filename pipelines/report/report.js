(function () {
  var tip = document.getElementById('tooltip');
  function place(x, y) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(8, Math.min(window.innerWidth - w - 8, x + 14)) + 'px';
    tip.style.top = Math.max(8, (y - h - 12 < 8 ? y + 18 : y - h - 12)) + 'px';
  }
  function show(target, x, y) { tip.textContent = target.getAttribute('data-tip'); tip.hidden = false; place(x, y); }
  document.addEventListener('mousemove', function (e) {
    var t = e.target.closest && e.target.closest('[data-tip]');
    if (t) { show(t, e.clientX, e.clientY); } else { tip.hidden = true; }
  });
  document.addEventListener('focusin', function (e) {
    var t = e.target.closest && e.target.closest('[data-tip]');
    if (t) { var r = t.getBoundingClientRect(); show(t, r.left + r.width / 2, r.top); }
  });
  document.addEventListener('focusout', function () { tip.hidden = true; });
})();
