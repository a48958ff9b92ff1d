// The hold history page: the form's fields live in the URL; a query posts them to
// /api/hold-history/query through MES.api. A 200 is shown at once; a 202 shows progress and a
// cancel button and polls /api/jobs/{id} until the job is done. The cards and charts are then
// rendered by the server (this page with ?job=<id>) and swapped in; the detail pages through
// /api/jobs/{id}/result (sorted on the server); a 410 JOB_EXPIRED runs the query again. A
// Pareto bar or a trend day narrows the query (reason, day). Today and current-shift modes
// run again when the WIP data changes. Text is placed with textContent only.
(function () {
  'use strict';
  var page = MES.data('hold-history-page');
  if (!page) { return; }
  var form = document.getElementById('history-form');
  var progress = document.getElementById('progress');
  var bar = document.getElementById('progress-bar');
  var progressText = document.getElementById('progress-text');
  var message = document.getElementById('history-message');
  var rowsBody = document.getElementById('history-rows');
  var count = document.getElementById('lots-count');
  var pageOf = document.getElementById('page-of');
  var prev = document.getElementById('page-prev');
  var next = document.getElementById('page-next');
  var exportLink = document.getElementById('export-history');
  var FIELDS = ['mode', 'from', 'to', 'hold_type', 'reason', 'record_type'];
  var job = null;
  var detail = { page: 1, sort: null, dir: null, total: 0, pages: 0 };
  var poller = null;
  var run = 0;

  function iso(d) { return d.toISOString().slice(0, 10); }

  // The form from the URL (defaults: the last 7 days).
  function fromUrl() {
    var p = new URLSearchParams(window.location.search);
    var today = new Date();
    var week = new Date(today.getTime() - 6 * 86400000);
    var mode = p.get('mode') || 'range';
    var radios = form.querySelectorAll('input[name=mode]');
    for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === mode; }
    form.elements.from.value = p.get('from') || iso(week);
    form.elements.to.value = p.get('to') || iso(today);
    form.elements.hold_type.value = p.get('hold_type') || 'all';
    form.elements.reason.value = p.get('reason') || '';
    form.elements.record_type.value = p.get('record_type') || 'all';
  }

  function formParams() {
    var p = new URLSearchParams();
    var mode = form.querySelector('input[name=mode]:checked').value;
    p.set('mode', mode);
    if (mode === 'range') { p.set('from', form.elements.from.value); p.set('to', form.elements.to.value); }
    ['hold_type', 'reason', 'record_type'].forEach(function (n) {
      if (form.elements[n].value) { p.set(n, form.elements[n].value); }
    });
    return p;
  }

  function say(text) {
    message.hidden = !text;
    message.textContent = text || '';
  }

  function stopPolling() {
    if (poller) { clearTimeout(poller); poller = null; }
  }

  function query() {
    stopPolling();
    var mine = ++run;
    var p = new URLSearchParams(window.location.search);
    var body = {};
    FIELDS.forEach(function (n) { if (p.get(n)) { body[n] = p.get(n); } });
    if (body.mode === 'range') { delete body.mode; } else if (body.mode) { delete body.from; delete body.to; }
    if (detail.sort) { body.sort = detail.sort; body.dir = detail.dir; }
    say('');
    return MES.api.post('/api/hold-history/query', body).then(function (data) {
      if (mine !== run) { return; }
      if (data.cards) {
        progress.hidden = true;
        showJob(data.job_id, data.detail);
      } else {
        watch(data.job_id, mine);
      }
    }, function (error) { say(error.message); });
  }

  function watch(id, mine) {
    job = id;
    progress.hidden = false;
    progress.setAttribute('data-job', id);
    function poll() {
      MES.api.get('/api/jobs/' + id).then(function (j) {
        if (mine !== run) { return; }
        bar.value = j.progress || 0;
        progressText.textContent = MES.fill(page.text.progress, { percent: j.progress || 0 });
        if (j.state === 'done') { progress.hidden = true; showJob(id, null); return; }
        if (j.state === 'cancelled') { progress.hidden = true; say(page.text.cancelled); return; }
        if (j.state === 'failed') { progress.hidden = true; say(MES.fill(page.text.failed, { message: j.error || '' })); return; }
        poller = setTimeout(poll, 1000);
      }, function (error) { progress.hidden = true; say(error.message); });
    }
    poll();
  }

  document.getElementById('cancel').addEventListener('click', function () {
    if (!job) { return; }
    MES.api.post('/api/jobs/' + job + '/cancel', {}).then(function () {
      stopPolling(); run += 1; progress.hidden = true; say(page.text.cancelled);
    }, function (error) { say(error.message); });
  });

  // The cards and charts of job `id`, rendered by the server, then the detail.
  function showJob(id, first) {
    job = id;
    var url = window.location.pathname + '?job=' + encodeURIComponent(id);
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('figures');
        var old = document.getElementById('figures');
        if (fresh && old) { old.parentNode.replaceChild(document.importNode(fresh, true), old); }
        document.getElementById('figures').setAttribute('data-job', id);
      })
      .catch(function (e) { say(String(e)); });
    detail.page = 1;
    if (first) { showDetail(first); } else { loadDetail(); }
    var csv = new URLSearchParams();
    csv.set('format', 'csv');
    if (detail.sort) { csv.set('sort', detail.sort); csv.set('dir', detail.dir); }
    exportLink.setAttribute('href', '/api/jobs/' + id + '/result?' + csv.toString());
    exportLink.hidden = false;
  }

  function loadDetail() {
    if (!job) { return; }
    var q = new URLSearchParams();
    q.set('page', String(detail.page));
    q.set('page_size', '50');
    if (detail.sort) { q.set('sort', detail.sort); q.set('dir', detail.dir); }
    rowsBody.setAttribute('data-loaded', 'false');
    MES.api.get('/api/jobs/' + job + '/result?' + q.toString()).then(function (data) {
      showDetail(data.detail);
    }, function (error) {
      if (error.status === 410 || error.code === 'JOB_EXPIRED') {
        say(page.text.expired);
        query();
      } else {
        say(error.message);
      }
    });
  }

  function cell(text, className) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (className) { td.className = className; }
    return td;
  }

  function showDetail(d) {
    while (rowsBody.firstChild) { rowsBody.removeChild(rowsBody.firstChild); }
    d.rows.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-lot', r.lot_id);
      tr.appendChild(cell(r.lot_id));
      tr.appendChild(cell(r.hold_reason));
      tr.appendChild(cell(r.hold_type, 'hold-' + r.hold_type));
      tr.appendChild(cell(r.workcenter_id));
      tr.appendChild(cell(MES.fmt.num(r.quantity), 'num'));
      tr.appendChild(cell(r.hold_at ? MES.fmt.time(r.hold_at) : ''));
      tr.appendChild(cell(r.hold_by));
      tr.appendChild(cell(r.release_at ? MES.fmt.time(r.release_at) : ''));
      tr.appendChild(cell(r.release_by));
      tr.appendChild(cell(MES.fmt.num(Math.round(r.duration_seconds / 36) / 100), 'num'));
      rowsBody.appendChild(tr);
    });
    detail.total = d.total;
    detail.pages = Math.max(1, Math.ceil(d.total / d.page_size));
    detail.page = d.page;
    count.textContent = MES.fill(page.text.count, { total: MES.fmt.num(d.total) });
    count.setAttribute('data-total', String(d.total));
    pageOf.textContent = MES.fill(page.text.page_of, { page: d.page, pages: detail.pages });
    prev.disabled = d.page <= 1;
    next.disabled = d.page >= detail.pages;
    rowsBody.setAttribute('data-loaded', 'true');
  }

  prev.addEventListener('click', function () { detail.page = Math.max(1, detail.page - 1); loadDetail(); });
  next.addEventListener('click', function () { detail.page += 1; loadDetail(); });
  document.getElementById('history-table').addEventListener('click', function (e) {
    var th = e.target.closest ? e.target.closest('th[data-sort]') : null;
    if (!th) { return; }
    var key = th.getAttribute('data-sort');
    detail.dir = detail.sort === key && detail.dir === 'asc' ? 'desc' : 'asc';
    detail.sort = key;
    detail.page = 1;
    loadDetail();
    var csv = new URLSearchParams({ format: 'csv', sort: detail.sort, dir: detail.dir });
    if (job) { exportLink.setAttribute('href', '/api/jobs/' + job + '/result?' + csv.toString()); }
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    window.history.pushState(null, '', window.location.pathname + '?' + formParams().toString());
    query();
  });

  // A Pareto bar narrows to its reason; a trend day to that shift day.
  document.addEventListener('click', function (e) {
    var shape = e.target.closest ? e.target.closest('[data-filter-reason],[data-filter-day]') : null;
    if (!shape) { return; }
    var p = new URLSearchParams(window.location.search);
    var reason = shape.getAttribute('data-filter-reason');
    var day = shape.getAttribute('data-filter-day');
    if (reason !== null) { p.set('reason', reason); }
    if (day !== null) { p.set('mode', 'range'); p.set('from', day); p.set('to', day); }
    window.history.pushState(null, '', window.location.pathname + '?' + p.toString());
    fromUrl();
    query();
  });
  window.addEventListener('popstate', function () { fromUrl(); query(); });

  if (MES.live) {
    var seen = null;
    MES.live.on('wip', function (data) {
      var mode = new URLSearchParams(window.location.search).get('mode');
      var version = data && data.version;
      if (seen !== null && version !== seen && (mode === 'today' || mode === 'shift')) { query(); }
      seen = version;
    });
  }

  fromUrl();
  window.history.replaceState(null, '', window.location.pathname + '?' + formParams().toString());
  query();
})();
