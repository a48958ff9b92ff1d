// The /wip-detail page: the first page of lots comes rendered from the server; this script
// turns its links (status cards, sortable headers, pager, filter chips) into in-place
// updates — the URL changes with pushState and the lots come from GET /api/wip/detail with the
// same parameters — opens the lot panel from GET /api/wip/lot/{id}, and refetches the current
// page when MES.live says the WIP snapshot changed (keeping page, order and the open panel).
// Values are placed with textContent only. Configuration and words come from the page's
// #mes-wip-detail JSON block.
(function () {
  'use strict';
  var config = MES.data('mes-wip-detail');
  if (!config) { return; }
  var text = config.text;
  var $ = function (id) { return document.getElementById(id); };
  var asOf = $('as-of');
  var statusLine = $('status-line');
  var version = config.version;
  var sequence = 0; // answers to older requests are dropped
  var openLot = null;
  var opener = null; // the button that opened the panel, focused again on close

  // ---- State: the page's parameters, as in its URL --------------------------------------
  function readState(search) {
    var params = new URLSearchParams(search);
    var state = {};
    config.keys.forEach(function (key) {
      var value = params.get(key);
      if (value !== null && value.trim() !== '') { state[key] = value.trim(); }
    });
    return state;
  }

  function changed(state, changes) {
    var next = {};
    Object.keys(state).forEach(function (k) { next[k] = state[k]; });
    Object.keys(changes).forEach(function (k) {
      if (changes[k] === null || changes[k] === '') { delete next[k]; } else { next[k] = changes[k]; }
    });
    return next;
  }

  function pageHref(state) {
    var params = new URLSearchParams();
    config.keys.forEach(function (key) {
      var value = state[key];
      if (value && !(key === 'page' && value === '1')) { params.append(key, value); }
    });
    return config.route + '?' + params.toString();
  }

  // The filters and the order (with `paging`, the page too) as the API takes them.
  function apiQuery(state, paging) {
    var params = new URLSearchParams();
    config.keys.forEach(function (key) {
      if (config.api_keys.indexOf(key) < 0 || state[key] === undefined) { return; }
      if (!paging && (key === 'page' || key === 'page_size')) { return; }
      params.append(key, state[key]);
    });
    return params;
  }

  var state = readState(window.location.search);

  // ---- Loading --------------------------------------------------------------------------
  function navigate(next) {
    state = next;
    window.history.pushState(null, '', pageHref(state));
    load();
  }

  function load() {
    sequence += 1;
    var mine = sequence;
    statusLine.textContent = text.loading;
    return MES.api.get(config.api + '?' + apiQuery(state, true).toString()).then(function (data) {
      if (mine !== sequence) { return; }
      statusLine.textContent = '';
      MES.api.clearStale(asOf);
      render(data);
    }, function (error) {
      if (mine !== sequence) { return; }
      statusLine.textContent = MES.fill(text.failed, { message: error.message });
      MES.api.markStale(asOf);
    });
  }

  window.addEventListener('popstate', function () {
    state = readState(window.location.search);
    load();
  });

  // ---- Rendering ------------------------------------------------------------------------
  function cell(value, className) {
    var td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '' : String(value);
    if (className) { td.className = className; }
    return td;
  }

  function holdLabel(type) {
    if (type === 'quality') { return text.quality; }
    if (type === 'non-quality') { return text.non_quality; }
    return '';
  }

  function statusMatches(card) {
    return (state.status || '').toUpperCase() === card[1] && (state.hold_type || '') === card[2];
  }

  function renderCards(cards) {
    config.cards.forEach(function (card) {
      var el = document.querySelector('[data-card="' + card[0] + '"]');
      if (!el) { return; }
      var tally = cards[card[0]];
      var active = statusMatches(card);
      el.querySelector('[data-card-lots]').textContent = MES.fmt.num(tally.lots);
      el.querySelector('[data-card-quantity]').textContent =
        MES.fill(text.quantity, { qty: MES.fmt.num(tally.quantity) });
      el.classList.toggle('active', active);
      el.setAttribute('aria-pressed', active ? 'true' : 'false');
      el.setAttribute('href', pageHref(changed(state, active
        ? { status: null, hold_type: null, page: null }
        : { status: card[1], hold_type: card[2], page: null })));
    });
  }

  function renderHeaders(data) {
    config.sortable.forEach(function (pair) {
      var key = pair[1];
      var current = data.sort === key;
      var dir = current && data.dir === 'asc' ? 'desc' : 'asc';
      var href = pageHref(changed(state, { sort: key, dir: dir, page: null }));
      var cells = document.querySelectorAll('#lots thead th[data-column="' + pair[0] + '"]');
      Array.prototype.forEach.call(cells, function (th) {
        th.setAttribute('aria-sort', current ? (data.dir === 'desc' ? 'descending' : 'ascending') : 'none');
        th.querySelector('a[data-sort]').setAttribute('href', href);
      });
    });
    data.steps.forEach(function (step) {
      var ths = document.querySelectorAll('#lots thead th[data-step]');
      Array.prototype.forEach.call(ths, function (th) {
        if (th.getAttribute('data-step') === step.step) {
          th.querySelector('[data-step-lots]').textContent = MES.fmt.num(step.lots);
        }
      });
    });
  }

  function renderRows(data) {
    var body = $('lot-rows');
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (data.lots.length === 0) {
      var tr = document.createElement('tr');
      tr.className = 'wipdt-empty';
      var td = cell(text.empty);
      td.setAttribute('colspan', String(5 + data.steps.length));
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    data.lots.forEach(function (lot) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-lot', lot.lot_id);
      var first = document.createElement('td');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'wipdt-lot';
      button.setAttribute('data-lot', lot.lot_id);
      button.textContent = lot.lot_id;
      first.appendChild(button);
      tr.appendChild(first);
      tr.appendChild(cell(lot.lot_type));
      tr.appendChild(cell(lot.equipment_id));
      var status = cell(lot.status, 'status-' + lot.status);
      if (lot.hold_type) {
        var hold = document.createElement('span');
        hold.className = 'muted';
        hold.textContent = holdLabel(lot.hold_type);
        status.appendChild(document.createTextNode(' '));
        status.appendChild(hold);
      }
      tr.appendChild(status);
      tr.appendChild(cell(lot.package_id));
      data.steps.forEach(function (step) {
        tr.appendChild(cell(step.step === lot.step ? MES.fmt.num(lot.quantity) : '', 'num'));
      });
      body.appendChild(tr);
    });
  }

  function renderPager(data) {
    var of = $('page-of');
    of.setAttribute('data-page', String(data.page));
    of.setAttribute('data-pages', String(data.pages));
    of.textContent = MES.fill(text.page_of, { page: data.page, pages: data.pages });
    var prev = $('page-prev');
    var next = $('page-next');
    prev.hidden = data.page <= 1;
    next.hidden = data.page >= data.pages;
    var last = Math.max(data.pages, 1);
    prev.setAttribute('href', pageHref(changed(state, { page: String(Math.min(data.page, last + 1) - 1) })));
    next.setAttribute('href', pageHref(changed(state, { page: String(data.page + 1) })));
  }

  function renderFilters() {
    var box = $('filters');
    var chips = box.querySelectorAll('a.wipdt-chip, #no-filters');
    Array.prototype.forEach.call(chips, function (chip) { box.removeChild(chip); });
    var any = false;
    config.api_keys.forEach(function (key) {
      if (!text.filters[key] || state[key] === undefined) { return; }
      any = true;
      var a = document.createElement('a');
      a.className = 'wipdt-chip';
      a.setAttribute('data-param', key);
      a.title = text.remove_filter;
      a.setAttribute('href', pageHref(changed(state, (function () {
        var c = { page: null }; c[key] = null; return c;
      })())));
      a.textContent = text.filters[key] + ': ' + state[key] + ' ×';
      box.appendChild(a);
    });
    if (!any) {
      var none = document.createElement('span');
      none.className = 'muted';
      none.id = 'no-filters';
      none.textContent = text.no_filters;
      box.appendChild(none);
    }
    var overview = new URLSearchParams();
    config.api_keys.forEach(function (key) {
      if (text.filters[key] && key !== 'status' && key !== 'hold_type' && state[key] !== undefined) {
        overview.append(key, state[key]);
      }
    });
    $('back-overview').setAttribute('href', '/wip-overview?' + overview.toString());
  }

  function render(data) {
    renderCards(data.cards);
    renderHeaders(data);
    renderRows(data);
    renderPager(data);
    renderFilters();
    var total = $('total');
    total.setAttribute('data-total', String(data.total));
    total.textContent = MES.fill(text.total, { lots: MES.fmt.num(data.total), quantity: MES.fmt.num(data.quantity) });
    var query = apiQuery(state, false);
    query.append('format', 'csv');
    $('export-csv').setAttribute('href', config.api + '?' + query.toString());
    var size = $('page-size');
    var wanted = String(data.page_size);
    if (!Array.prototype.some.call(size.options, function (o) { return o.value === wanted; })) {
      var option = document.createElement('option');
      option.value = wanted;
      option.textContent = wanted;
      size.appendChild(option);
    }
    size.value = wanted;
  }

  // ---- Links become in-place updates ------------------------------------------------------
  document.addEventListener('click', function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) { return; }
    var a = e.target.closest && e.target.closest('#cards a, #lots thead a[data-sort], #pager a, #filters a.wipdt-chip');
    if (!a) { return; }
    e.preventDefault();
    navigate(readState(new URL(a.href, window.location.href).search));
  });

  $('page-size').addEventListener('change', function (e) {
    navigate(changed(state, { page_size: e.target.value, page: null }));
  });

  // ---- The lot panel --------------------------------------------------------------------
  var panel = $('lot-panel');

  function showValue(field, value) {
    if (value === null || value === undefined || value === '') { return '—'; }
    if (/_at$/.test(field)) { return MES.fmt.time(value); }
    if (field === 'quantity' || field === 'priority') { return MES.fmt.num(value); }
    if (field === 'hold_type') { return holdLabel(value); }
    return String(value);
  }

  function fillPanel(lot) {
    var fields = panel.querySelectorAll('dd[data-field]');
    Array.prototype.forEach.call(fields, function (dd) {
      var field = dd.getAttribute('data-field');
      dd.textContent = lot ? showValue(field, lot[field]) : '—';
    });
  }

  function showLot(id) {
    openLot = id;
    panel.hidden = false;
    $('lot-panel-id').textContent = id;
    $('lot-panel-note').textContent = text.loading;
    return MES.api.get(config.lot_api + encodeURIComponent(id)).then(function (lot) {
      if (openLot !== id) { return; }
      $('lot-panel-note').textContent = '';
      fillPanel(lot);
      panel.setAttribute('data-loaded', id);
    }, function (error) {
      if (openLot !== id) { return; }
      fillPanel(null);
      $('lot-panel-note').textContent = error.status === 404 ? text.lot_gone : MES.fill(text.failed, { message: error.message });
      panel.setAttribute('data-loaded', id);
    });
  }

  function closePanel() {
    if (panel.hidden) { return; }
    panel.hidden = true;
    panel.removeAttribute('data-loaded');
    openLot = null;
    if (opener && document.body.contains(opener)) { opener.focus(); }
    opener = null;
  }

  $('lot-rows').addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('button.wipdt-lot');
    if (!button) { return; }
    opener = button;
    showLot(button.getAttribute('data-lot'));
    $('lot-panel-close').focus();
  });
  $('lot-panel-close').addEventListener('click', closePanel);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' || e.key === 'Esc') { closePanel(); }
  });

  // ---- Live: a new WIP snapshot refetches what is shown -----------------------------------
  if (MES.live) {
    MES.live.on('wip', function (data) {
      if (!data) { return; }
      if (data.updated_at) { MES.live.asOf(asOf, data.updated_at); }
      if (data.version && data.version !== version) {
        version = data.version;
        load();
        if (openLot) { showLot(openLot); }
      }
    });
    MES.live.on('resync', function () { load(); });
  }
})();
