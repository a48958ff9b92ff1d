// The equipment history form: posts JSON to the history API through the shared client
// (CSRF token, retry on 503/429, the banner) and writes the answer with textContent only: no
// value from the server ever becomes markup. If a later run fails, the last table stays with
// a "stale" label.
(function () {
  'use strict';
  var config = MES.data('mes-history');
  var text = config.text;
  var form = document.getElementById('query');
  var status = document.getElementById('status');
  var table = document.getElementById('results');
  function local(d) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) +
      'T' + two(d.getHours()) + ':' + two(d.getMinutes());
  }
  var now = new Date();
  document.getElementById('to').value = local(now);
  document.getElementById('from').value = local(new Date(now.getTime() - 7 * 86400000));
  function say(message) { status.textContent = message; }
  function cell(row, value, numeric) {
    var td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '—' :
      (numeric ? MES.fmt.num(value) : String(value));
    if (numeric) { td.className = 'num'; }
    row.appendChild(td);
  }
  function line(r) {
    var tr = document.createElement('tr');
    cell(tr, r.id);
    cell(tr, r.workcenter);
    config.states.forEach(function (state) { cell(tr, r.hours[state.toLowerCase()], true); });
    cell(tr, r.availability_pct, true);
    cell(tr, r.utilization_pct, true);
    return tr;
  }
  function show(data) {
    var body = document.getElementById('rows');
    var foot = document.getElementById('total');
    while (body.firstChild) { body.removeChild(body.firstChild); }
    while (foot.firstChild) { foot.removeChild(foot.firstChild); }
    document.getElementById('id-heading').textContent =
      data.group_by === 'workcenter' ? text.workcenter : text.tool;
    data.rows.forEach(function (r) { body.appendChild(line(r)); });
    var total = line(data.total);
    total.firstChild.textContent = text.total;
    foot.appendChild(total);
    table.hidden = false;
    say(data.rows.length === 0 ? text.empty : MES.fill(text.rows, {
      count: MES.fmt.num(data.rows.length),
      from: MES.fmt.time(data.from),
      to: MES.fmt.time(data.to)
    }));
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var from = new Date(form.elements.from.value);
    var to = new Date(form.elements.to.value);
    if (isNaN(from.getTime()) || isNaN(to.getTime())) { say(text.both_dates); return; }
    var query = { from: from.toISOString(), to: to.toISOString(), group_by: form.elements.group_by.value };
    if (form.elements.workcenter.value) { query.workcenter = form.elements.workcenter.value; }
    say(text.running);
    MES.api.post(config.query_url, query).then(function (data) {
      MES.api.clearStale(status);
      show(data);
    }, function (failure) {
      say(failure.message);
      if (!table.hidden) { MES.api.markStale(status); }
    });
  });
  // A "retry now" after the automatic retries were spent answered.
  document.addEventListener('mes:recovered', function (e) {
    MES.api.clearStale(status);
    show(e.detail);
  });
})();
