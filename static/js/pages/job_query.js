// The maintenance job query (PRODUCT §3 /job-query): tools are searched as you type (the
// matching ids, at most 50, from the tools API) and chosen as chips; tools and range live in
// the URL (read back on load). A job row opens to its transactions, fetched on first opening.
// Text is placed with textContent only.
(function () {
  'use strict';
  var config = MES.data('mes-jobs');
  var text = config.text;
  var form = document.getElementById('query');
  var search = document.getElementById('tool-search');
  var matches = document.getElementById('tool-matches');
  var chosenList = document.getElementById('chosen');
  var status = document.getElementById('status');
  var result = document.getElementById('result');
  var chosen = [];
  var searchTimer = null;
  var searchSeq = 0;

  function say(message) { status.textContent = message; }
  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }
  function iso(d) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate());
  }

  // ---- Tools --------------------------------------------------------------------------------
  function drawChosen() {
    clear(chosenList);
    chosen.forEach(function (tool) {
      var li = document.createElement('li');
      var name = document.createElement('span');
      name.textContent = tool;
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'chip-remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', MES.fill(text.remove, { tool: tool }));
      remove.addEventListener('click', function () {
        chosen = chosen.filter(function (t) { return t !== tool; });
        drawChosen();
      });
      li.appendChild(name);
      li.appendChild(remove);
      chosenList.appendChild(li);
    });
  }
  function choose(value) {
    String(value || '').split(',').forEach(function (raw) {
      var tool = raw.trim();
      if (tool && chosen.indexOf(tool) < 0 && chosen.length < config.max_tools) {
        chosen.push(tool);
      }
    });
    drawChosen();
  }
  search.addEventListener('input', function () {
    if (searchTimer) { clearTimeout(searchTimer); }
    var q = search.value.trim();
    searchTimer = setTimeout(function () {
      var seq = ++searchSeq;
      MES.api.get(config.tools_url + '?q=' + encodeURIComponent(q)).then(function (data) {
        if (seq !== searchSeq) { return; }
        clear(matches);
        data.tools.forEach(function (id) {
          var option = document.createElement('option');
          option.value = id;
          matches.appendChild(option);
        });
        // A whole id picked from the list is chosen at once.
        if (data.tools.indexOf(search.value.trim()) >= 0 && data.tools.length === 1) {
          choose(search.value);
          search.value = '';
        }
      }, function (error) { say(error.message); });
    }, 200);
  });
  search.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); choose(search.value); search.value = ''; }
  });
  document.getElementById('tool-add').addEventListener('click', function () {
    choose(search.value);
    search.value = '';
  });

  // ---- The URL ------------------------------------------------------------------------------
  function params() {
    var p = new URLSearchParams();
    p.set('tools', chosen.join(','));
    p.set('from', form.elements.from.value);
    p.set('to', form.elements.to.value);
    return p;
  }
  function fromUrl() {
    var p = new URLSearchParams(location.search);
    chosen = [];
    choose(p.get('tools'));
    form.elements.from.value = p.get('from') || iso(new Date(Date.now() - 29 * 86400000));
    form.elements.to.value = p.get('to') || iso(new Date());
    return chosen.length > 0 && p.has('from') && p.has('to');
  }

  // ---- Jobs ---------------------------------------------------------------------------------
  function cell(tr, value, isTime) {
    var td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '—' :
      (isTime ? MES.fmt.time(value) : String(value));
    tr.appendChild(td);
    return td;
  }
  function transactionsRow(job) {
    var tr = document.createElement('tr');
    tr.className = 'jq-transactions';
    var td = document.createElement('td');
    td.colSpan = 12;
    td.textContent = text.loading;
    tr.appendChild(td);
    var url = config.transactions_url.replace('{job_id}', encodeURIComponent(job.job_id));
    MES.api.get(url).then(function (data) {
      clear(td);
      if (data.transactions.length === 0) { td.textContent = text.no_transactions; return; }
      var table = document.createElement('table');
      table.className = 'jq-tx';
      var head = document.createElement('tr');
      [text.tx_at, text.tx_status, text.tx_stage, text.tx_by, text.tx_note].forEach(function (h) {
        var th = document.createElement('th');
        th.textContent = h;
        head.appendChild(th);
      });
      var thead = document.createElement('thead');
      thead.appendChild(head);
      table.appendChild(thead);
      var body = document.createElement('tbody');
      data.transactions.forEach(function (t) {
        var row = document.createElement('tr');
        cell(row, t.changed_at, true);
        cell(row, t.status);
        cell(row, t.stage);
        cell(row, t.changed_by);
        cell(row, t.note);
        body.appendChild(row);
      });
      table.appendChild(body);
      td.appendChild(table);
    }, function (error) { td.textContent = error.message; });
    return tr;
  }
  function jobRow(job, tbody) {
    var tr = document.createElement('tr');
    tr.className = 'jq-job';
    var first = document.createElement('td');
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'rh-toggle';
    button.setAttribute('aria-expanded', 'false');
    button.textContent = job.job_id;
    first.appendChild(button);
    tr.appendChild(first);
    cell(tr, job.job_order);
    cell(tr, job.status);
    cell(tr, job.model);
    cell(tr, job.stage);
    cell(tr, job.equipment_id);
    cell(tr, job.created_at, true);
    cell(tr, job.completed_at, true);
    cell(tr, job.symptom_code);
    cell(tr, job.cause_code);
    cell(tr, job.repair_code);
    cell(tr, job.technician);
    var detail = null;
    button.addEventListener('click', function () {
      var open = button.getAttribute('aria-expanded') !== 'true';
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (!detail) {
        detail = transactionsRow(job);
        tbody.insertBefore(detail, tr.nextSibling);
      }
      detail.hidden = !open;
    });
    return tr;
  }
  function run(push) {
    if (chosen.length === 0) { say(text.need_tool); return; }
    var p = params();
    var url = location.pathname + '?' + p.toString();
    if (url !== location.pathname + location.search) {
      history[push ? 'pushState' : 'replaceState'](null, '', url);
    }
    say(text.running);
    MES.api.post(config.query_url, {
      tools: chosen, from: form.elements.from.value, to: form.elements.to.value
    }).then(function (data) {
      MES.api.clearStale(status);
      var tbody = document.getElementById('job-rows');
      clear(tbody);
      data.jobs.forEach(function (job) { tbody.appendChild(jobRow(job, tbody)); });
      p.set('format', 'csv');
      document.getElementById('csv').href = config.query_url + '?' + p.toString();
      result.hidden = false;
      result.setAttribute('data-total', String(data.total));
      say(data.total === 0 ? text.none : MES.fill(text.found, { count: MES.fmt.num(data.total) }));
    }, function (error) {
      say(error.message);
      if (!result.hidden) { MES.api.markStale(status); }
    });
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (search.value.trim()) { choose(search.value); search.value = ''; }
    run(true);
  });
  window.addEventListener('popstate', function () { if (fromUrl()) { run(false); } });
  if (fromUrl()) { run(false); }
})();
