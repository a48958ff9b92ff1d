// The QC-GATE page: the bucket segment (and a click on a chart segment) filters the lot table
// in place, the filter lives in the URL (?bucket=…&step=…, back button works), "more" appends the
// next page of lots from the API (the server renders only the first), and a new WIP
// version (MES.live 'wip') refreshes the counts, the chart and the table. Every call goes
// through MES.api; text is placed with textContent only. The chart's SVG is our server's own
// markup (charts are drawn there), parsed as XML and imported — never assigned as HTML.
(function () {
  'use strict';
  var config = MES.data('mes-qc-gate');
  if (!config) { return; }
  var filter = { bucket: config.filter.bucket || '', step: config.filter.step || '' };
  var version = config.version;
  var labels = {};
  config.buckets.forEach(function (b) { labels[b.key] = b.label; });

  // The one duration rule of every page ("3 d 4 h" / "3 天 4 小時"), as the server wrote it.
  function waitingText(minutes) {
    if (minutes === null || minutes === undefined) { return '—'; }
    return MES.fmt.duration(minutes * 60);
  }

  function query(extra) {
    var parts = [];
    if (filter.bucket) { parts.push('bucket=' + encodeURIComponent(filter.bucket)); }
    if (filter.step) { parts.push('step=' + encodeURIComponent(filter.step)); }
    if (extra) { parts.push(extra); }
    return parts.length ? '?' + parts.join('&') : '';
  }

  function cell(text, className) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (className) { td.className = className; }
    return td;
  }

  // Rows shown so far: the first page (server-rendered or fetched), then each "more" page.
  var shown = document.querySelectorAll('#qc-lots tr[data-lot]').length;
  var more = document.getElementById('qc-more');

  function renderLots(page, append) {
    var body = document.getElementById('qc-lots');
    if (!append) {
      while (body.firstChild) { body.removeChild(body.firstChild); }
      shown = 0;
    }
    if (!append && !page.lots.length) {
      var tr = document.createElement('tr');
      var td = cell(config.text.none, 'muted');
      td.colSpan = 10;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    page.lots.forEach(function (lot) {
      var row = document.createElement('tr');
      row.setAttribute('data-lot', lot.lot_id);
      row.setAttribute('data-bucket', lot.bucket || '');
      row.appendChild(cell(lot.lot_id));
      row.appendChild(cell(lot.workcenter_id));
      row.appendChild(cell(lot.step));
      row.appendChild(cell(lot.product));
      row.appendChild(cell(lot.package_id));
      row.appendChild(cell(lot.status));
      row.appendChild(cell(MES.fmt.num(lot.quantity), 'num'));
      row.appendChild(cell(lot.move_in_at ? MES.fmt.time(lot.move_in_at) : '—', 'muted'));
      var wait = cell(waitingText(lot.waiting_minutes), 'num');
      wait.setAttribute('data-minutes', lot.waiting_minutes === null ? '' : String(lot.waiting_minutes));
      row.appendChild(wait);
      row.appendChild(cell(lot.bucket ? labels[lot.bucket] : '—'));
      body.appendChild(row);
    });
    shown += page.lots.length;
    more.hidden = shown >= page.total;
    document.getElementById('qc-shown').textContent =
      MES.fill(config.text.shown, { shown: shown, total: page.total });
    document.getElementById('qc-lots').setAttribute('data-total', String(page.total));
  }

  function showFilter() {
    Array.prototype.forEach.call(document.querySelectorAll('#qc-segment [data-bucket]'), function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-bucket') === filter.bucket ? 'true' : 'false');
    });
    var step = document.getElementById('qc-step-filter');
    step.textContent = filter.step;
    step.setAttribute('data-step', filter.step);
    document.getElementById('qc-export').setAttribute('href', '/api/qc-gate/lots' + query('format=csv'));
  }

  // The list from its first row: one page after a filter change; after a new WIP version
  // (`keep`) as many rows as were shown, so a supervisor who opened "more" keeps them.
  function loadLots(keep) {
    var limit = keep ? Math.min(Math.max(config.limit, shown), config.max_limit) : config.limit;
    return MES.api.get('/api/qc-gate/lots' + query('limit=' + limit))
      .then(function (page) { renderLots(page, false); }, function () {});
  }

  // The next page of the list, appended (the page renders only the first).
  more.addEventListener('click', function () {
    MES.api.get('/api/qc-gate/lots' + query('limit=' + config.limit + '&offset=' + shown))
      .then(function (page) { renderLots(page, true); }, function () {});
  });

  function apply(next, push) {
    filter = next;
    showFilter();
    var url = window.location.pathname + query();
    if (push) { window.history.pushState(filter, '', url); } else { window.history.replaceState(filter, '', url); }
    return loadLots();
  }

  function importMarkup(container, markup, type) {
    var doc = new DOMParser().parseFromString(markup, type);
    var root = type === 'text/html' ? doc.body.firstElementChild : doc.documentElement;
    if (!root || root.nodeName === 'parsererror') { return; }
    container.replaceWith(document.importNode(root, true));
  }

  function refresh() {
    MES.api.get('/api/qc-gate/summary?chart=1').then(function (summary) {
      document.getElementById('qc-total-lots').textContent = MES.fmt.num(summary.total.lots);
      document.getElementById('qc-total-quantity').textContent = MES.fmt.num(summary.total.quantity);
      Array.prototype.forEach.call(document.querySelectorAll('[data-bucket-count]'), function (el) {
        var key = el.getAttribute('data-bucket-count');
        el.textContent = MES.fmt.num(key ? summary.total.buckets[key].lots : summary.total.lots);
      });
      var holder = document.getElementById('qc-chart-svg');
      if (summary.chart && holder.firstElementChild) {
        importMarkup(holder.firstElementChild, summary.chart.svg, 'image/svg+xml');
        var table = document.querySelector('#qc-chart table');
        if (table) { importMarkup(table, summary.chart.table, 'text/html'); }
      }
    }, function () {});
    loadLots(true);
  }

  document.getElementById('qc-segment').addEventListener('click', function (e) {
    var button = e.target.closest('[data-bucket]');
    if (button) { apply({ bucket: button.getAttribute('data-bucket'), step: filter.step }, true); }
  });
  // A chart segment filters on its step and bucket; the step label clears the step.
  document.getElementById('qc-chart').addEventListener('click', function (e) {
    var shape = e.target.closest('[data-filter-bucket], [data-filter-step]');
    if (!shape) { return; }
    apply({
      bucket: shape.getAttribute('data-filter-bucket') || '',
      step: shape.getAttribute('data-filter-step') || ''
    }, true);
  });
  document.getElementById('qc-step-filter').addEventListener('click', function () {
    apply({ bucket: filter.bucket, step: '' }, true);
  });
  window.addEventListener('popstate', function () {
    var params = new URLSearchParams(window.location.search);
    apply({ bucket: params.get('bucket') || '', step: params.get('step') || '' }, false);
  });

  MES.live.on('wip', function (data) {
    if (!data || !data.version) { return; }
    MES.live.asOf(document.getElementById('as-of'), data.updated_at);
    if (data.version === version) { return; }
    version = data.version;
    refresh();
  });
  showFilter();
})();
