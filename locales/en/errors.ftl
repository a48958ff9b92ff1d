# error.message of the JSON envelope and of the error pages, by code (codes never change).
# Handlers write their messages in English; this English catalogue mirrors the Chinese one
# key for key. { $detail } is the handler's own text (it names the field, parameter or
# header literally); { $seconds } the Retry-After.

err-validation-error = { $detail }
err-unauthorized = { $detail }
err-forbidden = { $detail }
err-csrf-token-missing = This request changes state and needs a CSRF token: send it in the X-CSRF-Token header (get one from GET /api/auth/csrf) or, from a form, in the hidden csrf_token field the page renders.
err-csrf-token-invalid = The CSRF token was refused: send the session's current token in the X-CSRF-Token header (GET /api/auth/csrf), or reload the form and send it again.
err-csrf-origin-rejected = Cross-site request refused ({ $detail }).
err-not-found = { $detail }
err-method-not-allowed = This method is not allowed here; the Allow header lists the ones that are.
err-conflict = { $detail }
err-restart-policy-blocked = { $detail }
err-restart-not-supervised = { $detail }
err-restart-override-reason-required = { $detail }
err-payload-too-large = { $detail }
err-unsupported-media-type = { $detail }
err-too-many-requests = { $detail }
err-internal-error = An internal error occurred; it has been logged.
err-db-query-error = The database could not run the query.
err-db-pool-exhausted = All database connections are busy; retry in { $seconds } seconds.
err-circuit-breaker-open = The database is failing and calls to it are paused; retry in { $seconds } seconds.
err-db-connection-failed = The database cannot be reached; retry in { $seconds } seconds.
err-service-unavailable = { $detail }
err-db-query-timeout = The database query took too long and was cancelled.
err-request-timeout = { $detail }
err-job-expired = { $detail }
