// The live equipment page: each `change` event of the status stream rewrites the changed rows
// and the counters. Values are placed with textContent only, never as markup. The page's data
// (stream URL, states, its words in the page's language) comes from a JSON block.
(function () {
  'use strict';
  if (!window.EventSource) { return; }
  var config = MES.data('mes-resource');
  var live = document.getElementById('live');
  function rowOf(id) {
    var rows = document.querySelectorAll('#tools tr[data-tool]');
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute('data-tool') === id) { return rows[i]; }
    }
    return null;
  }
  function cell(text, className) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (className) { td.className = className; }
    return td;
  }
  function render(tool) {
    var row = rowOf(tool.equipment_id);
    if (!row) {
      row = document.createElement('tr');
      row.setAttribute('data-tool', tool.equipment_id);
      document.getElementById('tools').appendChild(row);
    }
    while (row.firstChild) { row.removeChild(row.firstChild); }
    row.appendChild(cell(tool.equipment_id));
    row.appendChild(cell(tool.workcenter_id));
    row.appendChild(cell(tool.model));
    row.appendChild(cell(tool.e10_state, 'state state-' + tool.e10_state));
    row.appendChild(cell(tool.state_reason));
    row.appendChild(cell(MES.fmt.time(tool.state_since), 'muted'));
    row.appendChild(cell(tool.lots.length));
    row.appendChild(cell(tool.track_in_quantity));
    row.className = 'flash';
    setTimeout(function () { row.className = ''; }, 3000);
  }
  function counters(summary) {
    config.states.forEach(function (state) {
      var el = document.querySelector('[data-count="' + state + '"]');
      if (el) { el.textContent = String(summary.by_state[state]); }
    });
    var a = summary.availability_pct, u = summary.utilization_pct;
    document.getElementById('availability').textContent = a === null ? '—' : String(a);
    document.getElementById('utilization').textContent = u === null ? '—' : String(u);
  }
  var source = new EventSource(config.stream_url);
  source.addEventListener('change', function (e) {
    var data = JSON.parse(e.data);
    data.changed.forEach(render);
    data.removed.forEach(function (id) {
      var row = rowOf(id);
      if (row) { row.parentNode.removeChild(row); }
    });
    counters(data.summary);
    live.textContent = config.text.live + ' · ' + config.text.last_change + ' ' +
      MES.fmt.time(new Date().toISOString());
  });
  // Fell behind: the page reloads the whole status.
  source.addEventListener('resync', function () { window.location.reload(); });
  source.onopen = function () { live.textContent = config.text.live; };
  source.onerror = function () { live.textContent = config.text.reconnecting; };
})();
