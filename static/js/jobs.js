// MES.jobs: a report query that may run as a background job (PRODUCT §4), for every history
// page. The query answers at once (200: the report) or with 202 {job_id, status_url,
// result_url}; then the job's status is polled (every second, paused while the tab is hidden)
// until it is done, failed or cancelled, and its result read through the result API. A read
// after JOB_RESULT_TTL answers 410 JOB_EXPIRED: the query runs again, once.
//
//   var run = MES.jobs.run(url, body, {
//     result: function (resultUrl) { return '?page_size=500'; },  // query of the result read
//     progress: function (pct) { … }, done: function (report) { … },
//     failed: function (error) { … }, cancelled: function () { … }, expired: function () { … }
//   });
//   run.cancel();   // cancels the job (owner or administrator)
//   run.abandon();  // stops following it (a newer query replaces it)
// A failed job reaches `failed` as an Error with `jobFailed` set (a request's error has
// `status` instead).
(function () {
  'use strict';
  if (!window.MES) { return; }
  var POLL_MS = 1000;

  function run(url, body, on) {
    var state = { job: null, timer: null, over: false, reruns: 0 };
    function stop() {
      state.over = true;
      if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    }
    function fail(error) { if (!state.over) { stop(); on.failed(error); } }
    function read(resultUrl) {
      MES.api.get(resultUrl + (on.result ? on.result() : '')).then(function (report) {
        if (state.over) { return; }
        stop();
        on.done(report);
      }, function (error) {
        if (error.code === 'JOB_EXPIRED' && state.reruns < 1) {
          state.reruns += 1;
          if (on.expired) { on.expired(); }
          submit();
          return;
        }
        fail(error);
      });
    }
    function poll() {
      state.timer = null;
      if (state.over) { return; }
      if (document.hidden) {
        document.addEventListener('visibilitychange', function again() {
          document.removeEventListener('visibilitychange', again);
          poll();
        });
        return;
      }
      MES.api.get(state.job.status_url).then(function (job) {
        if (state.over) { return; }
        if (on.progress) { on.progress(job.progress || 0); }
        if (job.state === 'done') { read(job.result_url || state.job.result_url); return; }
        if (job.state === 'cancelled') { stop(); on.cancelled(); return; }
        if (job.state === 'failed') {
          var failure = new Error(job.error || job.state);
          failure.jobFailed = true; // the job failed (not a request): pages may say so
          fail(failure);
          return;
        }
        state.timer = setTimeout(poll, POLL_MS);
      }, fail);
    }
    function submit() {
      MES.api.post(url, body).then(function (data) {
        if (state.over) { return; }
        if (data && data.status_url && data.detail === undefined) {
          state.job = data;
          if (on.progress) { on.progress(0); }
          poll();
          return;
        }
        stop();
        on.done(data);
      }, fail);
    }
    submit();
    return {
      cancel: function () {
        if (state.over || !state.job) { return; }
        stop();
        MES.api.post('/api/jobs/' + encodeURIComponent(state.job.job_id) + '/cancel', {})
          .then(function () { on.cancelled(); }, function (error) { on.failed(error); });
      },
      // Stops following the job without cancelling it (a newer query replaces it).
      abandon: stop,
      jobId: function () { return state.job && state.job.job_id; }
    };
  }

  window.MES.jobs = { run: run };
})();
