// The hold history page: the form's fields live in the URL; a query posts them to
// /api/hold-history/query through MES.jobs (jobs.js). A 200 is shown at once; a 202 shows
// progress and a cancel button while the job runs (its status polled every second, paused
// while the tab is hidden), then the result's first detail page is read. The cards and charts are then
// rendered by the server (this page with ?job=<id>) and swapped in; the detail pages through
// /api/jobs/{id}/result (sorted on the server); a 410 JOB_EXPIRED runs the query again.
// A Pareto bar, a trend day or a duration bucket filters the detail only (URL: detail_reason,
// day, duration_bucket; the result API's reason, day, duration_bucket): the cards and charts
// stay for the whole query, and the CSV link follows the same filters. Today and
// current-shift modes run again when the WIP data changes. Text is placed with textContent
// only.
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
  var filterBox = document.getElementById('table-filter');
  var filterText = document.getElementById('table-filter-text');
  var FIELDS = ['mode', 'from', 'to', 'hold_type', 'reason', 'record_type'];
  // The detail's own filters: the URL's name and the result API's.
  var DETAIL = [['day', 'day'], ['detail_reason', 'reason'], ['duration_bucket', 'duration_bucket']];
  var asked = null; // the query fields of the last query, to tell a detail change from a new query
  var job = null;
  var detail = { page: 1, sort: null, dir: null, total: 0, pages: 0 };
  var current = null; // the MES.jobs run of the latest query

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

  function queryKey(p) {
    return FIELDS.map(function (n) { return n + '=' + (p.get(n) || ''); }).join('&');
  }

  // The result API's filters and order, from the URL and the table's sort.
  function resultParams() {
    var p = new URLSearchParams(window.location.search);
    var q = new URLSearchParams();
    DETAIL.forEach(function (d) { if (p.get(d[0])) { q.set(d[1], p.get(d[0])); } });
    if (detail.sort) { q.set('sort', detail.sort); q.set('dir', detail.dir); }
    return q;
  }

  function filtered() {
    var p = new URLSearchParams(window.location.search);
    return DETAIL.some(function (d) { return !!p.get(d[0]); });
  }

  function describeFilter() {
    var p = new URLSearchParams(window.location.search);
    var parts = [];
    DETAIL.forEach(function (d) {
      var v = p.get(d[0]);
      if (!v) { return; }
      parts.push(d[0] === 'duration_bucket' ? (page.text.buckets[v] || v) : v);
    });
    filterBox.hidden = parts.length === 0;
    filterText.textContent = MES.fill(page.text.filter, { filter: parts.join(' × ') });
  }

  function updateExport() {
    if (!job) { return; }
    var csv = resultParams();
    csv.set('format', 'csv');
    exportLink.setAttribute('href', '/api/jobs/' + job + '/result?' + csv.toString());
    exportLink.hidden = false;
  }

  // Said once the figures of the running query show (replacing what `query` said meanwhile).
  var noteWhenShown = null;

  // Runs the URL's query; `note` is said meanwhile (why it runs again), `whenShown` once its
  // figures show.
  function query(note, whenShown) {
    if (current) { current.abandon(); }
    noteWhenShown = typeof whenShown === 'string' ? whenShown : null;
    var p = new URLSearchParams(window.location.search);
    asked = queryKey(p);
    var body = {};
    FIELDS.forEach(function (n) { if (p.get(n)) { body[n] = p.get(n); } });
    if (body.mode === 'range') { delete body.mode; } else if (body.mode) { delete body.from; delete body.to; }
    if (detail.sort) { body.sort = detail.sort; body.dir = detail.dir; }
    say(typeof note === 'string' ? note : '');
    var mine = current = MES.jobs.run('/api/hold-history/query', body, {
      // A job's result is read from its first detail page, with the detail's filters.
      result: function () {
        var q = resultParams();
        q.set('page', '1');
        q.set('page_size', '50');
        return '?' + q.toString();
      },
      progress: function (pct) {
        job = mine.jobId();
        progress.hidden = false;
        progress.setAttribute('data-job', job);
        bar.value = pct;
        progressText.textContent = MES.fill(page.text.progress, { percent: pct });
      },
      done: function (data) {
        if (mine !== current) { return; }
        progress.hidden = true;
        if (mine.jobId()) {
          showJob(mine.jobId(), data.detail);
        } else {
          // Answered at once: its first detail page is unfiltered.
          showJob(data.job_id, filtered() ? null : data.detail);
        }
      },
      failed: function (error) {
        if (mine !== current) { return; }
        progress.hidden = true;
        say(error.jobFailed ? MES.fill(page.text.failed, { message: error.message }) : error.message);
      },
      cancelled: function () {
        if (mine !== current) { return; }
        progress.hidden = true;
        say(page.text.cancelled);
      },
      // The result expired before it was read: the query runs again (once).
      expired: function () {
        say(page.text.expired);
        noteWhenShown = page.text.reran;
      }
    });
  }

  document.getElementById('cancel').addEventListener('click', function () {
    if (current) { current.cancel(); }
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
        if (noteWhenShown !== null) { say(noteWhenShown); noteWhenShown = null; }
      })
      .catch(function (e) { say(String(e)); });
    detail.page = 1;
    if (first) { showDetail(first); } else { loadDetail(); }
    updateExport();
  }

  var reads = 0;
  function loadDetail() {
    describeFilter();
    if (!job) { return; }
    var q = resultParams();
    q.set('page', String(detail.page));
    q.set('page_size', '50');
    rowsBody.setAttribute('data-loaded', 'false');
    var mine = ++reads;
    MES.api.get('/api/jobs/' + job + '/result?' + q.toString()).then(function (data) {
      if (mine === reads) { showDetail(data.detail); }
    }, function (error) {
      if (mine !== reads) { return; }
      if (error.status === 410 || error.code === 'JOB_EXPIRED') {
        query(page.text.expired, page.text.reran);
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
    describeFilter();
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
      tr.appendChild(cell(MES.fmt.duration(r.duration_seconds), 'num'));
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
    updateExport();
  });

  // A new query starts without detail filters.
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    window.history.pushState(null, '', window.location.pathname + '?' + formParams().toString());
    query();
  });

  // The detail's filters: the URL keeps them; the figures stay as they are.
  function narrow(p) {
    window.history.pushState(null, '', window.location.pathname + '?' + p.toString());
    detail.page = 1;
    loadDetail();
    updateExport();
  }

  // A Pareto bar filters the detail to its reason, a trend day to that shift day, a duration
  // bucket to the holds released after such a time.
  document.addEventListener('click', function (e) {
    var shape = e.target.closest ? e.target.closest('[data-filter-reason],[data-filter-day],[data-filter-duration_bucket]') : null;
    if (!shape) { return; }
    var p = new URLSearchParams(window.location.search);
    [['reason', 'detail_reason'], ['day', 'day'], ['duration_bucket', 'duration_bucket']].forEach(function (f) {
      var v = shape.getAttribute('data-filter-' + f[0]);
      if (v !== null) { p.set(f[1], v); }
    });
    narrow(p);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.key !== ' ') { return; }
    var t = e.target;
    if (t && t.getAttribute && t.getAttribute('role') === 'button' && t.closest('#figures')) {
      e.preventDefault();
      t.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    }
  });
  document.getElementById('table-filter-clear').addEventListener('click', function () {
    var p = new URLSearchParams(window.location.search);
    DETAIL.forEach(function (d) { p.delete(d[0]); });
    narrow(p);
  });
  // Back and forward: a change of the query runs it again, a change of the detail's filters
  // reads the detail again.
  window.addEventListener('popstate', function () {
    fromUrl();
    if (queryKey(new URLSearchParams(window.location.search)) !== asked) { query(); } else { detail.page = 1; loadDetail(); updateExport(); }
  });

  if (MES.live) {
    // The version this page was rendered with; the stream says the current one at connect.
    var seen = page.wip_version || null;
    MES.live.on('wip', function (data) {
      var mode = new URLSearchParams(window.location.search).get('mode');
      var version = data && data.version;
      if (version !== seen && (mode === 'today' || mode === 'shift')) { query(); }
      seen = version;
    });
  }

  fromUrl();
  var start = formParams();
  var given = new URLSearchParams(window.location.search);
  DETAIL.forEach(function (d) { if (given.get(d[0])) { start.set(d[0], given.get(d[0])); } });
  window.history.replaceState(null, '', window.location.pathname + '?' + start.toString());
  query();
})();
