// The equipment history page (PRODUCT §3 /resource-history): the form's values live in the
// URL (read back on load, so a link or the back button gives the same report); a run goes
// through MES.jobs (at once, or as a background job with progress and cancel); the answer
// fills the KPIs, the four server-drawn charts (SVG parsed in an inert document and
// imported), and the group → family → tool table (rows that expand). Text is placed with textContent only.
(function () {
  'use strict';
  var config = MES.data('mes-history');
  var text = config.text;
  var form = document.getElementById('query');
  var status = document.getElementById('status');
  var report = document.getElementById('report');
  var job = document.getElementById('job');
  var progress = document.getElementById('job-progress');
  var jobText = document.getElementById('job-text');
  var FIELDS = ['from', 'to', 'granularity', 'workcenter_group', 'location', 'family', 'tool',
    'package_group', 'production', 'key', 'monitored'];
  var PAGE_SIZE = 500;
  var current = null;

  function say(message) { status.textContent = message; }
  function iso(d) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate());
  }

  // ---- The URL ------------------------------------------------------------------------------
  function fromUrl() {
    var params = new URLSearchParams(location.search);
    FIELDS.forEach(function (name) {
      if (params.has(name)) { form.elements[name].value = params.get(name); }
    });
    if (!form.elements.to.value) { form.elements.to.value = iso(new Date()); }
    if (!form.elements.from.value) {
      form.elements.from.value = iso(new Date(Date.now() - 6 * 86400000));
    }
    return params.has('from') && params.has('to');
  }
  function toUrl(query, push) {
    var params = new URLSearchParams();
    Object.keys(query).forEach(function (name) { params.set(name, query[name]); });
    var url = location.pathname + '?' + params.toString();
    if (url !== location.pathname + location.search) {
      history[push ? 'pushState' : 'replaceState'](null, '', url);
    }
  }
  function query() {
    var q = {};
    FIELDS.forEach(function (name) {
      var value = String(form.elements[name].value || '').trim();
      if (value) { q[name] = value; }
    });
    return q;
  }

  // ---- Drawing ------------------------------------------------------------------------------
  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }
  // The chart's SVG and its screen-reader table, parsed in an inert document (nothing runs
  // there) and imported.
  function markup(el, svg, table) {
    clear(el);
    var doc = new DOMParser().parseFromString(svg + table, 'text/html');
    Array.prototype.slice.call(doc.body.children).forEach(function (child) {
      el.appendChild(document.importNode(child, true));
    });
  }
  function kpi(id, value) { document.getElementById(id).textContent = value; }
  function cells(tr, label, tools, f) {
    var th = document.createElement('th');
    if (label.nodeType) { th.appendChild(label); } else { th.textContent = label; }
    tr.appendChild(th);
    var values = [tools === null ? '' : MES.fmt.num(tools)];
    config.states.forEach(function (s) {
      var h = f.hours ? f.hours[s.toLowerCase()] : f[s.toLowerCase() + '_hours'];
      values.push(MES.fmt.num(h));
    });
    values.push(MES.fmt.pct(f.ou_pct), MES.fmt.pct(f.avail_pct));
    values.forEach(function (v) {
      var td = document.createElement('td');
      td.className = 'num';
      td.textContent = v;
      tr.appendChild(td);
    });
    return tr;
  }
  // A row that opens and closes the rows under it (`rows` made on first opening).
  function opener(label, level, tbody, after, rows) {
    var tr = document.createElement('tr');
    tr.className = 'rh-level-' + level;
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'rh-toggle';
    button.setAttribute('aria-expanded', 'false');
    button.textContent = label;
    var children = null;
    button.addEventListener('click', function () {
      var open = button.getAttribute('aria-expanded') !== 'true';
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open && !children) {
        children = rows();
        var anchor = tr;
        children.forEach(function (child) {
          tbody.insertBefore(child, anchor.nextSibling);
          anchor = child.lastRow || child;
        });
      }
      (children || []).forEach(function (child) { setOpen(child, open); });
    });
    tr.toggleButton = button;
    return { tr: tr, button: button };
  }
  function setOpen(row, open) {
    row.hidden = !open;
    if (!open && row.toggleButton && row.toggleButton.getAttribute('aria-expanded') === 'true') {
      row.toggleButton.click();
    }
  }
  function tree(groups, tools) {
    var tbody = document.getElementById('tree-rows');
    clear(tbody);
    groups.forEach(function (g) {
      var group = opener(g.workcenter_group, 1, tbody, null, function () {
        return g.families.map(function (f) {
          var family = opener(f.family, 2, tbody, null, function () {
            return tools.filter(function (t) {
              return t.workcenter_group === g.workcenter_group && t.family === f.family;
            }).map(function (t) {
              var tr = cells(document.createElement('tr'), t.equipment_id, null, t);
              tr.className = 'rh-level-3';
              return tr;
            });
          });
          cells(family.tr, family.button, f.tools, f);
          return family.tr;
        });
      });
      cells(group.tr, group.button, g.tools, g);
      tbody.appendChild(group.tr);
    });
  }
  function show(data, tools) {
    var k = data.kpi;
    kpi('kpi-ou', MES.fmt.pct(k.ou_pct));
    kpi('kpi-avail', MES.fmt.pct(k.avail_pct));
    kpi('kpi-tools', MES.fmt.num(k.tools));
    config.states.forEach(function (s) {
      kpi('kpi-' + s.toLowerCase(), MES.fmt.num(k.hours[s.toLowerCase()]));
    });
    ['trend', 'hours', 'groups', 'heatmap'].forEach(function (name) {
      markup(document.getElementById('chart-' + name), data.charts[name].svg,
        data.charts[name].table);
    });
    tree(data.groups, tools);
    document.getElementById('csv').href = data.result_url + '?format=csv';
    report.hidden = false;
    report.setAttribute('data-job-id', data.job_id);
    report.setAttribute('data-total', String(data.detail.total));
    say(k.tools === 0 ? text.empty : MES.fill(text.done, {
      tools: MES.fmt.num(k.tools), from: data.window.from, to: data.window.to
    }));
  }
  // Every tool row: the first page came with the answer, the rest from the result API.
  function allRows(data) {
    var rows = data.detail.rows.slice();
    var pages = Math.ceil(data.detail.total / data.detail.page_size);
    var reads = [];
    for (var p = 2; p <= pages; p += 1) {
      reads.push(MES.api.get(data.result_url + '?page_size=' + data.detail.page_size +
        '&page=' + p));
    }
    return Promise.all(reads).then(function (more) {
      more.forEach(function (d) { rows = rows.concat(d.detail.rows); });
      return rows;
    });
  }

  // ---- Running ------------------------------------------------------------------------------
  function start(push) {
    var q = query();
    if (!q.from || !q.to) { say(text.both_dates); return; }
    toUrl(q, push);
    if (current) { current.cancel(); }
    q.page_size = PAGE_SIZE;
    say(text.running);
    job.hidden = true;
    current = MES.jobs.run(config.query_url, q, {
      result: function () { return '?page_size=' + PAGE_SIZE; },
      progress: function (pct) {
        job.hidden = false;
        progress.value = pct;
        jobText.textContent = MES.fill(text.job_running, { pct: pct });
      },
      done: function (data) {
        job.hidden = true;
        allRows(data).then(function (rows) {
          MES.api.clearStale(status);
          show(data, rows);
        }, function (error) { say(error.message); });
      },
      failed: function (error) {
        job.hidden = true;
        say(MES.fill(text.failed, { reason: error.message }));
        if (!report.hidden) { MES.api.markStale(status); }
      },
      cancelled: function () { job.hidden = true; say(text.cancelled); },
      expired: function () { say(text.expired); }
    });
  }
  form.addEventListener('submit', function (e) { e.preventDefault(); start(true); });
  document.getElementById('job-cancel').addEventListener('click', function () {
    if (current) { current.cancel(); }
  });
  window.addEventListener('popstate', function () { if (fromUrl()) { start(false); } });
  if (fromUrl()) { start(false); }
})();
