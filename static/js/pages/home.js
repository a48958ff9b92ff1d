// The home page: a bar of a hold-reason Pareto opens that reason's detail; the "data as of"
// labels read in the plant's time zone; and the cards follow the data. A `wip` event naming
// another snapshot version than the one shown, or an equipment change (at most every 15 s),
// refetches the page and swaps the cards it concerns in place: one renderer (the server's
// template) for the first paint and every update. The fetched page is parsed as an inert
// document and its nodes imported, never assigned as HTML.
(function () {
  'use strict';
  function open(shape) {
    var reason = shape.getAttribute('data-filter-reason');
    if (reason !== null) {
      window.location.href = '/hold-detail?reason=' + encodeURIComponent(reason);
    }
  }
  function shapeIn(e) {
    var shape = e.target.closest ? e.target.closest('.chart-link') : null;
    return shape && shape.closest('#home-hold') ? shape : null;
  }
  // Delegated from the document: the hold card is replaced by live updates.
  document.addEventListener('click', function (e) {
    var shape = shapeIn(e);
    if (shape) { open(shape); }
  });
  document.addEventListener('keydown', function (e) {
    var shape = shapeIn(e);
    if (shape && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); open(shape); }
  });

  function labels(root) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-as-of]'), function (el) {
      MES.live.asOf(el, el.getAttribute('data-as-of'));
    });
  }

  var fetching = false;
  function refresh(ids) {
    if (fetching) { return; }
    fetching = true;
    fetch(window.location.pathname + window.location.search, {
      credentials: 'same-origin', headers: { 'Accept': 'text/html' }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html');
      ids.forEach(function (id) {
        var now = document.getElementById(id);
        var next = fresh.getElementById(id);
        if (now && next) {
          var node = document.importNode(next, true);
          now.parentNode.replaceChild(node, now);
          labels(node);
        }
      });
    }, function () {
      // Keeps the cards shown; the next event tries again.
    }).then(function () { fetching = false; });
  }

  if (MES.live) {
    labels(document);
    MES.live.on('wip', function (data) {
      var card = document.getElementById('home-wip');
      if (data && card && data.version !== card.getAttribute('data-version')) {
        refresh(['home-wip', 'home-hold']);
      }
    });
    var lastTools = 0;
    MES.live.on('equipment', function () {
      var now = Date.now();
      if (now - lastTools < 15000) { return; }
      lastTools = now;
      refresh(['home-tools']);
    });
  }
})();
