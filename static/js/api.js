// The dashboard's one client script, on every page (PRODUCT §1).
//
// - MES.api: every API call of every page goes through it. It sends the session's CSRF token
//   (from <meta name="csrf-token">) on every state-changing request. On 503 or 429 with
//   Retry-After it shows a banner with the error's message and a live countdown, then retries
//   by itself: at most 3 automatic retries, waiting 1, 2, 4 s but never less than Retry-After;
//   DB_POOL_EXHAUSTED is retried at most once. "Retry now" skips the wait. Nothing loops: when
//   the retries are spent the banner says so and the promise is rejected, and the page keeps
//   its last data with a "stale, as of HH:MM" label (MES.api.markStale).
// - MES.fmt: numbers and times for people, times in the plant's time zone.
// - The header's health badge, fed from /health, refreshed while the page is visible.
//
// Configuration (language, time zone, words) comes from the page's #mes-config JSON block;
// no data is ever written into a script. Text is placed with textContent only.
(function () {
  'use strict';

  function data(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  var config = data('mes-config') || { lang: 'zh-TW', time_zone: 'Asia/Taipei', text: {} };
  var text = config.text || {};

  function fill(template, values) {
    return String(template || '').replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  // ---- Formatting -------------------------------------------------------------------------
  var locale = config.lang === 'en' ? 'en-US' : 'zh-TW';
  var numberFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  var timeFormat = new Intl.DateTimeFormat('sv-SE', {
    timeZone: config.time_zone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false
  });
  var clockFormat = new Intl.DateTimeFormat('sv-SE', {
    timeZone: config.time_zone, hour: '2-digit', minute: '2-digit', hour12: false
  });
  var fmt = {
    num: function (n) {
      return typeof n === 'number' && isFinite(n) ? numberFormat.format(n) : String(n);
    },
    pct: function (n) {
      return typeof n === 'number' && isFinite(n) ? n.toFixed(1) + ' %' : '—';
    },
    // "2026-12-06 14:05:09" in the plant's zone (sv-SE writes ISO-like dates).
    time: function (value) {
      var d = value instanceof Date ? value : new Date(value);
      return isNaN(d.getTime()) ? String(value) : timeFormat.format(d);
    },
    // "14:05" in the plant's zone.
    clock: function (value) {
      var d = value instanceof Date ? value : new Date(value);
      return isNaN(d.getTime()) ? String(value) : clockFormat.format(d);
    },
    // Seconds as "3 d 4 h", "5 h 12 m", "7 m" in the page's language (the server's rule,
    // i18n::duration, with the words it sends in #mes-config).
    duration: function (seconds) {
      if (typeof seconds !== 'number' || !isFinite(seconds)) { return ''; }
      var words = text.duration || {};
      var minutes = Math.floor(Math.max(0, Math.round(seconds)) / 60);
      var d = Math.floor(minutes / 1440);
      var h = Math.floor(minutes / 60) % 24;
      var m = minutes % 60;
      if (d > 0) { return fill(words.days_hours || '{days} d {hours} h', { days: d, hours: h }); }
      if (h > 0) { return fill(words.hours_minutes || '{hours} h {minutes} m', { hours: h, minutes: m }); }
      return fill(words.minutes || '{minutes} m', { minutes: m });
    }
  };

  // ---- The banner -------------------------------------------------------------------------
  var banner = document.getElementById('api-banner');
  var bannerText = document.getElementById('api-banner-text');
  var retryNowButton = document.getElementById('api-retry-now');
  var pendingRetry = null; // the one scheduled retry: {fire: function, timer, ticker}

  function showBanner(message) {
    if (!banner) { return; }
    bannerText.textContent = message;
    banner.hidden = false;
  }

  function hideBanner() {
    if (banner) { banner.hidden = true; }
  }

  function cancelPending() {
    if (pendingRetry) {
      clearTimeout(pendingRetry.timer);
      clearInterval(pendingRetry.ticker);
      pendingRetry = null;
    }
  }

  if (retryNowButton) {
    retryNowButton.addEventListener('click', function () {
      if (pendingRetry) {
        var fire = pendingRetry.fire;
        cancelPending();
        fire();
      } else if (lastFailed) {
        var again = lastFailed;
        lastFailed = null;
        again();
      }
    });
  }

  // ---- Requests ---------------------------------------------------------------------------
  var MAX_RETRIES = 3;
  var BACKOFF = [1, 2, 4];
  var lastFailed = null; // a manual "retry now" after the automatic ones are spent
  var lastSuccess = null; // Date of the last successful answer

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : null;
  }

  function failure(status, code, message, retryAfter) {
    var error = new Error(message);
    error.status = status;
    error.code = code;
    error.retryAfter = retryAfter;
    return error;
  }

  function once(method, url, body) {
    var headers = { 'Accept': 'application/json' };
    if (['GET', 'HEAD', 'OPTIONS'].indexOf(method) < 0) {
      var token = csrfToken();
      if (token) { headers['X-CSRF-Token'] = token; }
    }
    var init = { method: method, credentials: 'same-origin', headers: headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (envelope) {
        if (response.ok && envelope && envelope.success) { return envelope; }
        var error = envelope && envelope.error ? envelope.error : {};
        var retry = parseInt(response.headers.get('Retry-After'), 10);
        throw failure(response.status, error.code || null,
          error.message || ('HTTP ' + response.status), isNaN(retry) ? null : retry);
      });
    }, function () {
      throw failure(0, null, text.unreachable || 'unreachable', null);
    });
  }

  function retryable(error) {
    return (error.status === 503 || error.status === 429) && error.retryAfter !== null;
  }

  // One call with its bounded retries. Resolves with the envelope's data.
  function request(method, url, body) {
    var attempts = 0;
    var poolRetries = 0;
    return new Promise(function (resolve, reject) {
      function attempt() {
        once(method, url, body).then(function (envelope) {
          lastSuccess = new Date();
          lastFailed = null;
          cancelPending();
          hideBanner();
          resolve(envelope.data);
        }, function (error) {
          var spent = attempts >= MAX_RETRIES ||
            (error.code === 'DB_POOL_EXHAUSTED' && poolRetries >= 1);
          if (!retryable(error) || spent) {
            if (retryable(error)) {
              showBanner(fill(text.retry_failed, { message: error.message }));
              lastFailed = function () { request(method, url, body).then(resolveLate, function () {}); };
            }
            reject(error);
            return;
          }
          var wait = Math.max(error.retryAfter, BACKOFF[Math.min(attempts, BACKOFF.length - 1)]);
          attempts += 1;
          if (error.code === 'DB_POOL_EXHAUSTED') { poolRetries += 1; }
          schedule(error.message, wait, attempt);
        });
      }
      attempt();
    });
  }

  // A manual retry after the promise was rejected: the page listens for it.
  function resolveLate(value) {
    document.dispatchEvent(new CustomEvent('mes:recovered', { detail: value }));
  }

  function schedule(message, seconds, fire) {
    cancelPending();
    var left = seconds;
    var say = function () {
      showBanner(fill(text.retrying, { message: message, seconds: Math.max(left, 0) }));
    };
    say();
    pendingRetry = {
      fire: fire,
      ticker: setInterval(function () { left -= 1; say(); }, 1000),
      timer: setTimeout(function () { cancelPending(); fire(); }, seconds * 1000)
    };
  }

  // Puts (or refreshes) the "stale, as of HH:MM" label after `element`.
  function markStale(element) {
    if (!element) { return; }
    var label = element.parentNode && element.parentNode.querySelector('.stale-label');
    if (!label) {
      label = document.createElement('span');
      label.className = 'stale-label';
      element.parentNode.insertBefore(label, element.nextSibling);
    }
    label.textContent = fill(text.stale, { time: lastSuccess ? fmt.clock(lastSuccess) : '—' });
  }

  function clearStale(element) {
    var label = element && element.parentNode && element.parentNode.querySelector('.stale-label');
    if (label) { label.parentNode.removeChild(label); }
  }

  // ---- Health badge -----------------------------------------------------------------------
  var badge = document.getElementById('health-badge');
  var healthTimer = null;
  function showHealth(status, reason) {
    if (!badge) { return; }
    var words = text.health || {};
    badge.setAttribute('data-status', status);
    badge.textContent = words[status] || status;
    badge.title = reason || '';
  }
  function checkHealth() {
    // Not through request(): a degraded answer is news for the badge, not a retry.
    fetch('/health', { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (h) { showHealth(h.status || 'unknown', h.degraded_reason || ''); },
        function () { showHealth('unhealthy', text.unreachable); });
  }
  // On logged-in pages the badge is fed by the event stream (js/live.js) instead.
  var streamed = document.body.hasAttribute('data-live') && !!window.EventSource;
  function startHealth() {
    if (!badge || streamed) { return; }
    clearInterval(healthTimer);
    checkHealth();
    healthTimer = setInterval(checkHealth, 30000);
  }
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { clearInterval(healthTimer); } else { startHealth(); }
  });

  // ---- Header drawers and kiosk mode ------------------------------------------------------
  var drawers = document.querySelectorAll('details.drawer');
  Array.prototype.forEach.call(drawers, function (drawer) {
    drawer.addEventListener('toggle', function () {
      if (!drawer.open) { return; }
      Array.prototype.forEach.call(drawers, function (other) {
        if (other !== drawer) { other.open = false; }
      });
    });
  });
  document.addEventListener('click', function (e) {
    Array.prototype.forEach.call(drawers, function (drawer) {
      if (drawer.open && !drawer.contains(e.target)) { drawer.open = false; }
    });
  });
  // The language switch keeps the page's filters: its links say only `?lang=…`, the click
  // adds the current query (which page scripts keep up to date with history.replaceState).
  Array.prototype.forEach.call(document.querySelectorAll('.lang-switch a[hreflang]'), function (link) {
    link.addEventListener('click', function (e) {
      if (!window.URLSearchParams) { return; }
      var params = new URLSearchParams(window.location.search);
      params.set('lang', link.getAttribute('hreflang'));
      e.preventDefault();
      window.location.href = window.location.pathname + '?' + params.toString();
    });
  });
  if (/(^|[?&])kiosk=1(&|$)/.test(window.location.search.slice(1))) {
    document.body.classList.add('kiosk');
  }

  window.MES = {
    config: config,
    data: data,
    fill: fill,
    fmt: fmt,
    health: { show: showHealth },
    api: {
      get: function (url) { return request('GET', url); },
      post: function (url, body) { return request('POST', url, body); },
      request: request,
      markStale: markStale,
      clearStale: clearStale,
      lastSuccess: function () { return lastSuccess; }
    }
  };

  startHealth();
})();
