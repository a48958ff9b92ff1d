// The home page: a bar of a hold-reason Pareto opens that reason's detail, and the "data as
// of" labels read in the plant's time zone.
(function () {
  'use strict';
  function open(shape) {
    var reason = shape.getAttribute('data-filter-reason');
    if (reason !== null) {
      window.location.href = '/hold-detail?reason=' + encodeURIComponent(reason);
    }
  }
  var hold = document.getElementById('home-hold');
  if (hold) {
    hold.addEventListener('click', function (e) {
      var shape = e.target.closest ? e.target.closest('.chart-link') : null;
      if (shape) { open(shape); }
    });
    hold.addEventListener('keydown', function (e) {
      var shape = e.target.closest ? e.target.closest('.chart-link') : null;
      if (shape && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); open(shape); }
    });
  }
  if (MES.live) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-as-of]'), function (el) {
      MES.live.asOf(el, el.getAttribute('data-as-of'));
    });
  }
})();
