// The degraded error page (HTTP 503 with Retry-After): counts down the seconds the server
// asked for, then reloads once. The number comes from the page's data-retry-after attribute.
(function () {
  'use strict';
  var box = document.getElementById('retry');
  var out = document.getElementById('countdown');
  if (!box || !out) { return; }
  var left = parseInt(box.getAttribute('data-retry-after'), 10);
  if (!(left > 0)) { return; }
  var timer = setInterval(function () {
    left -= 1;
    out.textContent = String(Math.max(left, 0));
    if (left <= 0) { clearInterval(timer); window.location.reload(); }
  }, 1000);
})();
