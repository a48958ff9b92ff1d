// /wip-overview: the filter panel (suggestions as you type; filters kept in the URL), the
// cards and chart shapes that filter or open other reports, and the live update.
//
// Updates (a `wip` event naming another version, a filter change, back / forward) fetch
// /api/wip/overview/content for the URL's filters: the content block rendered by the server,
// swapped in place. Why a server-rendered block rather than re-drawing from the JSON APIs:
// the charts are drawn on the server (src/charts) and the first paint comes from the same
// template, so there is one renderer — the numbers, charts and links of an update cannot
// drift from those of a page load — and this script stays small. The block is parsed by
// DOMParser into an inert document (nothing in it runs; it holds no script anyway) and its
// nodes are moved in: no markup string is ever assigned to innerHTML.
(function () {
  'use strict';
  var config = MES.data('wipov-page');
  var content = document.getElementById('wipov-content');
  var form = document.getElementById('wipov-filters');
  if (!config || !content || !form) { return; }
  var errorBox = document.getElementById('wipov-error');
  var version = config.version;
  var latest = 0; // the number of the latest content request; older answers are dropped

  // The URL's filters (known names, non-empty values).
  function urlFilters() {
    var now = new URLSearchParams(window.location.search);
    var out = new URLSearchParams();
    config.filters.forEach(function (name) {
      var value = now.get(name);
      if (value !== null && value.trim() !== '') { out.set(name, value.trim()); }
    });
    return out;
  }
  function withQuery(path, params) {
    var query = params.toString();
    return query ? path + '?' + query : path;
  }
  function asOfLabel() { return document.getElementById('wipov-as-of'); }

  function showError(message) {
    errorBox.textContent = message || '';
    errorBox.hidden = !message;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString('<!doctype html><body>' + html, 'text/html');
    var nodes = Array.prototype.slice.call(doc.body.childNodes);
    while (content.firstChild) { content.removeChild(content.firstChild); }
    nodes.forEach(function (node) { content.appendChild(document.adoptNode(node)); });
  }

  function refresh() {
    var mine = ++latest;
    content.setAttribute('aria-busy', 'true');
    return MES.api.get(withQuery('/api/wip/overview/content', urlFilters())).then(function (data) {
      if (mine !== latest) { return; }
      swap(data.html);
      version = data.version;
      content.setAttribute('data-version', version);
      content.removeAttribute('aria-busy');
      MES.live.asOf(asOfLabel(), data.updated_at);
      showError('');
    }, function (error) {
      if (mine !== latest) { return; }
      content.removeAttribute('aria-busy');
      if (error.status === 400) { showError(error.message); } else { MES.api.markStale(asOfLabel()); }
    });
  }

  function fillForm() {
    var filters = urlFilters();
    config.fields.forEach(function (name) {
      form.elements[name].value = filters.get(name) || '';
    });
  }

  function go(params) {
    window.history.pushState(null, '', withQuery('/wip-overview', params));
    fillForm();
    refresh();
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var params = urlFilters();
    config.fields.forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) { params.set(name, value); } else { params.delete(name); }
    });
    go(params);
  });
  document.getElementById('wipov-clear').addEventListener('click', function (e) {
    e.preventDefault();
    go(new URLSearchParams());
  });
  window.addEventListener('popstate', function () { fillForm(); refresh(); });

  // A chart shape: its data-filter-* attributes say what it filters or opens.
  function act(shape) {
    var params = urlFilters();
    var status = shape.getAttribute('data-filter-status');
    var holdType = shape.getAttribute('data-filter-hold_type');
    var workcenter = shape.getAttribute('data-filter-workcenter');
    var pkg = shape.getAttribute('data-filter-package');
    if (status) {
      params.delete('hold_type');
      if (params.get('status') === status) { params.delete('status'); } else { params.set('status', status); }
      go(params);
    } else if (holdType) {
      window.location.href = '/hold-overview?hold_type=' + encodeURIComponent(holdType);
    } else if (workcenter) {
      var detail = new URLSearchParams();
      detail.set('workcenter', workcenter);
      params.forEach(function (value, name) { detail.set(name, value); });
      window.location.href = withQuery('/wip-detail', detail);
    } else if (pkg) {
      params.set('package', pkg);
      go(params);
    }
  }
  content.addEventListener('click', function (e) {
    var link = e.target.closest('a[data-in-page]');
    if (link) {
      e.preventDefault();
      var url = new URL(link.getAttribute('href'), window.location.href);
      go(url.searchParams);
      return;
    }
    var shape = e.target.closest('.chart-link');
    if (shape) { act(shape); }
  });
  content.addEventListener('keydown', function (e) {
    var shape = e.target.closest ? e.target.closest('.chart-link') : null;
    if (shape && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); act(shape); }
  });

  // Suggestions: values of the field containing what is typed (the last item of a comma
  // list), else, on an empty field, the values present under the other filters.
  var partial = config.partial;
  var options = null; // {key: the filters they were read for, data}
  var timers = {};
  function fillList(name, values) {
    var list = document.getElementById('wipov-list-' + name);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    values.forEach(function (value) {
      var option = document.createElement('option');
      option.value = value;
      list.appendChild(option);
    });
  }
  function head(text) { var i = text.lastIndexOf(','); return i < 0 ? '' : text.slice(0, i + 1); }
  function tail(text) { return text.slice(text.lastIndexOf(',') + 1).trim(); }
  function offerOptions(name) {
    if (partial.indexOf(name) >= 0) { return; }
    var key = urlFilters().toString();
    var fill = function () {
      var values = (options.data[name] || []).map(function (v) { return v.value; });
      fillList(name, values);
    };
    if (options && options.key === key) { fill(); return; }
    MES.api.get(withQuery('/api/wip/meta/filter-options', urlFilters())).then(function (data) {
      options = { key: key, data: data };
      fill();
    }, function () {});
  }
  function suggest(name, input) {
    var q = tail(input.value);
    if (!q) { offerOptions(name); return; }
    var url = '/api/wip/meta/search?field=' + encodeURIComponent(name) +
      '&q=' + encodeURIComponent(q) + '&limit=20';
    MES.api.get(url).then(function (data) {
      if (tail(input.value) !== q) { return; }
      var before = partial.indexOf(name) >= 0 ? '' : head(input.value);
      fillList(name, data.values.map(function (v) { return before + v; }));
    }, function () {});
  }
  config.fields.forEach(function (name) {
    var input = form.elements[name];
    input.addEventListener('input', function () {
      clearTimeout(timers[name]);
      timers[name] = setTimeout(function () { suggest(name, input); }, 150);
    });
    input.addEventListener('focus', function () { if (!input.value) { offerOptions(name); } });
  });

  MES.live.asOf(asOfLabel(), asOfLabel().getAttribute('data-as-of'));
  MES.live.on('wip', function (data) {
    if (data && data.version && data.version !== version) { refresh(); }
  });
  MES.live.on('resync', function () { refresh(); });
})();
