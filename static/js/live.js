// MES.live: the page's one server-sent event stream (/api/events, PRODUCT §1 "Live, not
// polled"), shared by every script of the page.
//
//   MES.live.on('wip', function (data) { … });        // {version, updated_at}
//   MES.live.on('equipment', function (data) { … });  // {changed, removed, summary}
//   MES.live.on('resync', function () { … });         // fell behind: refetch everything
//   MES.live.asOf(element, isoTime);                  // "data as of …" label
//
// The stream is closed while the tab is hidden and reopened when it is visible again; the
// server sends the current `wip` version (and the health status) at every connect, so a page
// that compares versions refreshes at once after being hidden and never while hidden. The
// header's health badge is fed from the `health` events. Loaded on logged-in pages only.
(function () {
  'use strict';
  if (!window.MES) { return; }
  var handlers = {};
  var source = null;

  function dispatch(name, raw) {
    var data = null;
    try { data = raw ? JSON.parse(raw) : null; } catch (e) { return; }
    (handlers[name] || []).forEach(function (handler) { handler(data); });
  }

  function listen(name) {
    source.addEventListener(name, function (e) { dispatch(name, e.data); });
  }

  function open() {
    if (source || !window.EventSource || document.hidden) { return; }
    source = new EventSource('/api/events');
    ['wip', 'equipment', 'health', 'resync'].forEach(listen);
  }

  function close() {
    if (source) { source.close(); source = null; }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { close(); } else { open(); }
  });

  function on(name, handler) {
    (handlers[name] = handlers[name] || []).push(handler);
  }

  function asOf(element, iso) {
    if (!element || !iso) { return; }
    element.setAttribute('data-as-of', iso);
    element.textContent = MES.fill(MES.config.text.as_of || '{time}', { time: MES.fmt.time(iso) });
  }

  on('health', function (data) {
    if (data && data.status) { MES.health.show(data.status, data.reason || ''); }
  });

  MES.live = { on: on, asOf: asOf, connected: function () { return source !== null; } };
  open();
})();
