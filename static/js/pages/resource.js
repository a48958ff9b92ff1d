// The equipment page: rendered on the server (works without script); this script keeps it
// current and makes the charts clickable.
// - MES.live 'equipment': the changed tools' rows and cards are rewritten in place, then the
//   summary and the matrix for the page's filters are fetched (MES.api) and the counters
//   updated, and the charts block (OU rings, OU heatmap) is fetched as the server renders it
//   (/api/resource/status/charts) and swapped in; "data as of" follows. 'resync' (fell
//   behind) reloads the page.
// - A ring or heatmap cell (data-filter-* attributes) opens the page with that filter added.
// Values are placed with textContent only, never as markup. The page's data (its filter
// query, the states) comes from the #mes-resource JSON block.
(function () {
  'use strict';
  var config = MES.data('mes-resource');
  if (!config) { return; }
  var asOf = document.getElementById('res-as-of');

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }
  function byAttr(selector, name, value) {
    var found = null;
    each(selector, function (el) {
      if (!found && el.getAttribute(name) === value) { found = el; }
    });
    return found;
  }
  function pct(value) { return value === null || value === undefined ? '—' : MES.fmt.num(Math.round(value * 10) / 10); }
  function setText(el, text) { if (el) { el.textContent = text; } }

  // One tool row of the matrix: its state column marked, its reason and since.
  function renderRow(tool) {
    var row = byAttr('tr[data-tool]', 'data-tool', tool.equipment_id);
    if (!row) { return; }
    row.setAttribute('data-state', tool.e10_state);
    Array.prototype.forEach.call(row.querySelectorAll('[data-tcell]'), function (td) {
      var on = td.getAttribute('data-tcell') === tool.e10_state;
      td.textContent = on ? tool.e10_state : '';
      td.className = on ? 'state state-' + tool.e10_state : '';
    });
    setText(row.querySelector('[data-reason]'), tool.state_reason || '');
    setText(row.querySelector('[data-since]'), MES.fmt.time(tool.state_since));
    row.classList.add('flash');
    setTimeout(function () { row.classList.remove('flash'); }, 3000);
  }

  function renderCard(tool) {
    var card = byAttr('[data-card]', 'data-card', tool.equipment_id);
    if (!card) { return; }
    var state = card.querySelector('[data-card-state]');
    if (state) {
      state.textContent = tool.e10_state;
      state.className = 'state state-' + tool.e10_state;
    }
    setText(card.querySelector('[data-card-reason]'), tool.state_reason || '—');
    setText(card.querySelector('[data-card-lots]'),
      MES.fmt.num(tool.lots.length) + ' (' + MES.fmt.num(tool.track_in_quantity) + ')');
  }

  function renderSummary(summary) {
    config.states.forEach(function (state) {
      var count = summary.by_state[state];
      setText(byAttr('[data-count]', 'data-count', state), MES.fmt.num(count));
      setText(byAttr('[data-share]', 'data-share', state),
        summary.total > 0 ? pct(count / summary.total * 100) + ' %' : '— %');
    });
    setText(document.getElementById('res-ou'), pct(summary.ou_pct));
    setText(document.getElementById('res-availability'), pct(summary.availability_pct));
    setText(document.getElementById('res-total'), MES.fmt.num(summary.total));
  }

  function setCells(summary, counted) {
    if (!summary) { return; }
    Array.prototype.forEach.call(summary.querySelectorAll('[data-mcell]'), function (span) {
      var n = counted ? counted.counts[span.getAttribute('data-mcell')] : 0;
      var target = span.querySelector('a') || span;
      target.textContent = MES.fmt.num(n || 0);
    });
  }

  function renderMatrix(matrix) {
    each('details.res-group', function (details) {
      var name = details.getAttribute('data-group');
      var group = null;
      matrix.groups.forEach(function (g) { if ((g.group || '') === name) { group = g; } });
      setCells(details.querySelector(':scope > summary'), group);
      Array.prototype.forEach.call(details.querySelectorAll('details.res-family'), function (fd) {
        var family = null;
        if (group) {
          group.families.forEach(function (f) {
            if ((f.family || '') === fd.getAttribute('data-family')) { family = f; }
          });
        }
        setCells(fd.querySelector(':scope > summary'), family);
      });
    });
  }

  // The charts block: our server's markup (the charts module escapes every label), parsed
  // as a document and its nodes adopted, never assigned as HTML. An older answer arriving
  // after a newer one is dropped.
  var charts = document.getElementById('res-charts');
  var latestCharts = 0;
  function renderCharts(data, mine) {
    if (mine !== latestCharts || !charts) { return; }
    var doc = new DOMParser().parseFromString('<!doctype html><body>' + data.html, 'text/html');
    var nodes = Array.prototype.slice.call(doc.body.childNodes);
    while (charts.firstChild) { charts.removeChild(charts.firstChild); }
    nodes.forEach(function (node) { charts.appendChild(document.adoptNode(node)); });
  }

  function refresh() {
    var q = config.query || '';
    MES.api.get('/api/resource/status/summary' + q).then(renderSummary, function () {});
    MES.api.get('/api/resource/status/matrix' + q).then(renderMatrix, function () {});
    var mine = ++latestCharts;
    MES.api.get('/api/resource/status/charts' + q).then(function (data) { renderCharts(data, mine); }, function () {});
  }

  if (MES.live) {
    MES.live.on('equipment', function (data) {
      if (!data) { return; }
      (data.changed || []).forEach(function (tool) { renderRow(tool); renderCard(tool); });
      (data.removed || []).forEach(function (id) {
        var row = byAttr('tr[data-tool]', 'data-tool', id);
        if (row) { row.parentNode.removeChild(row); }
      });
      refresh();
      MES.live.asOf(asOf, new Date().toISOString());
    });
    MES.live.on('resync', function () { window.location.reload(); });
  }

  // A chart shape filters: the page with its data-filter-* pairs added to the current ones.
  document.addEventListener('click', function (e) {
    var el = e.target.closest ? e.target.closest('[data-filter-workcenter_group],[data-filter-workcenter],[data-filter-package_group]') : null;
    if (!el) { return; }
    var params = new URLSearchParams(window.location.search);
    ['workcenter_group', 'workcenter', 'package_group'].forEach(function (name) {
      var value = el.getAttribute('data-filter-' + name);
      if (value !== null) { params.set(name, value); }
    });
    window.location.assign('/resource?' + params.toString());
  });
})();
