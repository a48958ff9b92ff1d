// The hold pages (/hold-overview, /hold-detail): the held-lot table, sorted and paged on the
// server through MES.api; the filters live in the URL (a matrix cell, a chart bar, a sort or a
// page is pushed to history and read back on load and on back/forward). A Pareto bar opens the
// reason's detail. A live `wip` event with a new snapshot version re-renders the page's
// server-rendered regions ([data-live-region]) in place and reloads the table.
// Text is placed with textContent only; the regions' markup comes from our own page.
(function () {
  'use strict';
  var page = MES.data('hold-page');
  if (!page) { return; }
  var TABLE = ['workcenter', 'package', 'age_range', 'sort', 'dir', 'page', 'page_size'];
  var body = document.getElementById('held');
  var count = document.getElementById('lots-count');
  var pageOf = document.getElementById('page-of');
  var prev = document.getElementById('page-prev');
  var next = document.getElementById('page-next');
  var exportLink = document.getElementById('export-held');
  var filterBox = document.getElementById('table-filter');
  var filterText = document.getElementById('table-filter-text');
  var version = page.version;
  var last = null;
  var seq = 0;

  function params() { return new URLSearchParams(window.location.search); }

  // The API's query: the URL's parameters without the page's own (lang, kiosk).
  function apiQuery(p) {
    var out = new URLSearchParams();
    p.forEach(function (value, name) {
      if (name !== 'lang' && name !== 'kiosk' && value !== '') { out.append(name, value); }
    });
    return out;
  }

  function go(p, push) {
    var url = window.location.pathname + '?' + p.toString();
    if (push) { window.history.pushState(null, '', url); } else { window.history.replaceState(null, '', url); }
    load();
  }

  function cell(text, className) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (className) { td.className = className; }
    return td;
  }

  function show(data) {
    last = data;
    while (body.firstChild) { body.removeChild(body.firstChild); }
    data.lots.forEach(function (lot) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-lot', lot.lot_id);
      page.columns.forEach(function (c) {
        var v = lot[c.field];
        var cls = '';
        if (c.field === 'quantity') {
          v = v === null || v === undefined ? '' : MES.fmt.num(v);
          cls = 'num';
        } else if (c.field === 'age_days' || c.field === 'hold_duration_hours') {
          // Durations as "3 d 4 h" (PRODUCT §1).
          v = v === null || v === undefined ? '' : MES.fmt.duration(v * (c.field === 'age_days' ? 86400 : 3600));
          cls = 'num';
        } else if (c.field === 'hold_at') {
          v = v ? MES.fmt.time(v) : '';
        } else if (c.field === 'hold_reason' && lot.hold_type) {
          cls = 'hold-' + lot.hold_type;
        }
        tr.appendChild(cell(v, cls));
      });
      body.appendChild(tr);
    });
    if (!data.lots.length) {
      var tr = document.createElement('tr');
      var td = cell(page.text.empty, 'muted');
      td.colSpan = page.columns.length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    count.textContent = MES.fill(page.text.count, { total: MES.fmt.num(data.total) });
    count.setAttribute('data-total', String(data.total));
    pageOf.textContent = MES.fill(page.text.page_of, { page: data.page, pages: Math.max(data.pages, 1) });
    prev.disabled = data.page <= 1;
    next.disabled = data.page >= data.pages;
    var ths = document.querySelectorAll('#held-table th[data-sort]');
    for (var i = 0; i < ths.length; i++) {
      var key = ths[i].getAttribute('data-sort');
      ths[i].setAttribute('aria-sort', key === data.sort ? (data.dir === 'desc' ? 'descending' : 'ascending') : 'none');
    }
    body.setAttribute('data-loaded', 'true');
  }

  function describeFilter(p) {
    var parts = [];
    ['workcenter', 'package', 'age_range'].forEach(function (name) {
      if (p.get(name)) { parts.push(p.get(name)); }
    });
    filterBox.hidden = parts.length === 0;
    filterText.textContent = MES.fill(page.text.filter, { filter: parts.join(' × ') });
  }

  function load() {
    var p = params();
    var q = apiQuery(p);
    describeFilter(p);
    var csv = new URLSearchParams(q.toString());
    csv.delete('page'); csv.delete('page_size');
    csv.set('format', 'csv');
    exportLink.setAttribute('href', page.api + '?' + csv.toString());
    body.setAttribute('data-loaded', 'false');
    var mine = ++seq;
    return MES.api.get(page.api + '?' + q.toString()).then(function (data) {
      if (mine === seq) { show(data); }
    }, function () {
      MES.api.markStale(count);
    });
  }

  // A sort header: the same key flips the direction, another starts ascending.
  document.getElementById('held-table').addEventListener('click', function (e) {
    var th = e.target.closest ? e.target.closest('th[data-sort]') : null;
    if (!th) { return; }
    var p = params();
    var key = th.getAttribute('data-sort');
    var current = last ? last.sort : 'hold_at';
    var dir = last ? last.dir : 'asc';
    p.set('sort', key);
    p.set('dir', key === current && dir === 'asc' ? 'desc' : 'asc');
    p.delete('page');
    go(p, true);
  });
  prev.addEventListener('click', function () {
    var p = params();
    p.set('page', String(Math.max(1, (last ? last.page : 1) - 1)));
    go(p, true);
  });
  next.addEventListener('click', function () {
    var p = params();
    p.set('page', String((last ? last.page : 1) + 1));
    go(p, true);
  });
  document.getElementById('table-filter-clear').addEventListener('click', function () {
    var p = params();
    ['workcenter', 'package', 'age_range', 'page'].forEach(function (n) { p.delete(n); });
    go(p, true);
  });

  // Matrix cells and chart bars: a cell or a bar filters the table; a Pareto bar opens the
  // reason's detail (keeping the page's other filters).
  document.addEventListener('click', function (e) {
    var target = e.target;
    var button = target.closest ? target.closest('button.cell[data-workcenter]') : null;
    if (button) {
      var p = params();
      p.set('workcenter', button.getAttribute('data-workcenter'));
      p.set('package', button.getAttribute('data-package'));
      p.delete('page');
      go(p, true);
      return;
    }
    var shape = target.closest ? target.closest('[data-filter-reason],[data-filter-age_range],[data-filter-workcenter],[data-filter-package]') : null;
    if (!shape) { return; }
    var reason = shape.getAttribute('data-filter-reason');
    if (reason !== null) {
      var keep = apiQuery(params());
      TABLE.concat(['reason']).forEach(function (n) { keep.delete(n); });
      keep.set('reason', reason);
      window.location.href = '/hold-detail?' + keep.toString();
      return;
    }
    var q = params();
    ['age_range', 'workcenter', 'package'].forEach(function (n) {
      var v = shape.getAttribute('data-filter-' + n);
      if (v !== null) { q.set(n, v); }
    });
    q.delete('page');
    go(q, true);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.key !== ' ') { return; }
    var t = e.target;
    if (t && t.getAttribute && t.getAttribute('role') === 'button') { e.preventDefault(); t.dispatchEvent(new MouseEvent('click', { bubbles: true })); }
  });
  window.addEventListener('popstate', load);
  document.addEventListener('mes:recovered', load);

  // Live: a new WIP snapshot re-renders the server-rendered regions and reloads the table.
  function refresh() {
    return fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var regions = document.querySelectorAll('[data-live-region]');
        for (var i = 0; i < regions.length; i++) {
          var name = regions[i].getAttribute('data-live-region');
          var fresh = doc.querySelector('[data-live-region="' + name + '"]');
          if (fresh) { regions[i].parentNode.replaceChild(document.importNode(fresh, true), regions[i]); }
        }
        var stamp = doc.getElementById('as-of');
        if (stamp) { MES.live.asOf(document.getElementById('as-of'), stamp.getAttribute('data-as-of')); }
      })
      .catch(function () { MES.api.markStale(count); });
  }
  if (MES.live) {
    MES.live.on('wip', function (data) {
      if (!data || !data.version || data.version === version) { return; }
      version = data.version;
      refresh();
      load();
    });
    MES.live.on('resync', function () { refresh(); load(); });
  }
  load();
})();
