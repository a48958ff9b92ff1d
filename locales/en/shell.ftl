# The frame of every page: header, drawers, health badge, client script, error pages.

shell-nav-label = Reports
shell-dev-badge = dev
shell-logout = Log out
shell-health-title = Service health, updated by itself
shell-health-unknown = Health: checking…

nav-realtime = Real-time reports
nav-history = History reports
nav-query = Query tools
nav-admin = Administration

page-portal = Home
page-portal-desc = Start page: every report in one place.
page-wip-overview = WIP overview
page-wip-overview-desc = Lots and quantity in process by workcenter and package.
page-hold-overview = Hold overview
page-hold-overview-desc = Lots on hold, by reason and age.
page-resource = Equipment status
page-resource-desc = Live SEMI E10 state of every tool.
page-resource-history = Equipment history
page-resource-history-desc = State history, OU % and availability over a period.
page-wip-detail = WIP detail
page-wip-detail-desc = Lots of one workcenter, one column per step.
page-hold-detail = Hold reason detail
page-hold-detail-desc = Lots, days at station and distribution for one hold reason.
page-hold-history = Hold history
page-hold-history-desc = Holds and releases over a period: trend and top reasons.
page-job-query = Maintenance job query
page-job-query-desc = Maintenance jobs of chosen tools over a period, with their transactions.
page-qc-gate = QC-GATE waiting
page-qc-gate-desc = Lots waiting at each QC-GATE step and how long.
page-admin-pages = Pages
page-admin-pages-desc = Release report pages or keep them in development.
page-admin-performance = Performance
page-admin-performance-desc = Health, pools, caches and workers.

health-healthy = Healthy
health-degraded = Degraded
health-unhealthy = Unhealthy
health-unknown = Health: checking…

client-retrying = { $message } Retrying in { $seconds } s.
client-retry-failed = { $message } Automatic retries stopped; use "Retry now".
client-retry-now = Retry now
client-stale = Stale, as of { $time }
client-as-of = Data as of { $time }
client-unreachable = The server could not be reached.

data-current = Current data,
data-stale = Stale data
data-stale-explain = the latest refresh failed; showing data
data-computed-at = computed at { $time } ({ $age } s ago).
data-as-of = as of { $time }

unit-seconds = s

error-title-not-found = Page not found
error-title-form-expired = The form expired
error-title-log-in = Please log in
error-title-forbidden = Not allowed
error-title-degraded = Temporarily degraded
error-title-internal = Something went wrong
error-title-rejected = Request not accepted
error-csrf-advice = Go back, reload the form so it carries a fresh security token, and send it again.
error-retrying-before = Retrying in
error-retrying-after = s…
error-code-line = Error
error-details-heading = Details (development only)
error-back-home = Back to the home page

login-heading = Log in
login-username = User name
login-password = Password
login-submit = Log in
login-hint = Use your company account.

logout-heading = Log out
logout-logged-in-as = You are logged in as { $name }.
logout-not-logged-in = You are not logged in.

portal-welcome = Welcome, { $name }
portal-choose = Choose a report.

duration-days-hours = { $days } d { $hours } h
duration-hours-minutes = { $hours } h { $minutes } m
duration-minutes = { $minutes } m
