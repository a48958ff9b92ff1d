# Hold pages (/hold-overview, /hold-detail, /hold-history).

## Held-lot lists (tables and CSV headers)
hold-lot-col-lot = Lot
hold-lot-col-work-order = Work order
hold-lot-col-quantity = Qty (pcs)
hold-lot-col-product = Product
hold-lot-col-package = Package
hold-lot-col-workcenter = Workcenter
hold-lot-col-reason = Hold reason
hold-lot-col-type = Hold type
hold-lot-col-step = Step
hold-lot-col-age = Days at station
hold-lot-col-hold-at = Hold time
hold-lot-col-duration = Hold duration (h)
hold-lot-col-by = Hold by
hold-lot-col-department = Department
hold-lot-col-comment = Hold comment
hold-lot-col-future-comment = Future-hold comment

## Shared words
hold-type-quality = Quality
hold-type-non-quality = Non-quality
hold-type-all = All
hold-type-label = Hold type
hold-kpi-lots = Lots on hold
hold-kpi-pcs = Quantity (pcs)
hold-kpi-avg-age = Average days at station
hold-kpi-max-age = Longest days at station
hold-kpi-groups = Workcenter groups affected
hold-pcs = { $pcs } pcs
hold-age-title = Days at station
hold-age-0-1 = 0–1 days
hold-age-1-3 = 1–3 days
hold-age-3-7 = 3–7 days
hold-age-7 = 7+ days
hold-lots-title = Held lots
hold-lots-count = { $total } lots
hold-export-csv = Export CSV
hold-page-prev = Previous
hold-page-next = Next
hold-page-of = Page { $page } of { $pages }
hold-clear-filter = Clear table filter
hold-table-filter = Table filter: { $filter }
hold-loading = Loading…
hold-empty = No lot on hold matches.
hold-chart-empty = Nothing to show.
hold-value-lots = Lots
hold-cumulative = Cumulative %

## /hold-overview
hold-ov-matrix = Held quantity by workcenter × package
hold-ov-matrix-total = Total
hold-ov-pareto-quality = Quality holds by reason
hold-ov-pareto-non-quality = Non-quality holds by reason
hold-ov-pareto-desc = Lots on hold per reason, largest first, with the cumulative share; a bar opens the reason's detail.
hold-ov-reason = Reason
hold-ov-matrix-hint = A cell filters the table.

## /hold-detail
hold-dt-reason = Hold reason
hold-dt-no-reason = Choose a hold reason on the hold overview.
hold-dt-workcenters = Workcenters
hold-dt-packages = Packages
hold-dt-by-workcenter = By workcenter
hold-dt-by-package = By package
hold-dt-chart-desc = Lots on hold; a bar filters the table.
hold-dt-back = Back to the hold overview

## /hold-history
hold-hi-mode = Period
hold-hi-mode-range = Date range
hold-hi-mode-today = Today
hold-hi-mode-shift = Current shift
hold-hi-from = From
hold-hi-to = To
hold-hi-run = Query
hold-hi-record-type = Record type
hold-hi-record-all = All
hold-hi-record-new = New
hold-hi-record-released = Released
hold-hi-record-on-hold = On hold
hold-hi-card-new = New holds
hold-hi-card-new-per-day = New per day
hold-hi-card-released = Releases
hold-hi-card-released-per-day = Releases per day
hold-hi-card-future = Future holds
hold-hi-card-repeated = Repeated quality holds
hold-hi-card-net = Net change
hold-hi-card-avg-release = Average release time
hold-hi-card-max-release = Longest release time
hold-hi-card-on-hold = On hold now
hold-hi-trend = Daily trend
hold-hi-trend-desc = New, released and future holds per shift day (bars) and lots on hold (line).
hold-hi-trend-new = New
hold-hi-trend-released = Released
hold-hi-trend-future = Future
hold-hi-trend-on-hold = On hold
hold-hi-day = Shift day
hold-hi-pareto = Holds by reason
hold-hi-buckets = Hold duration
hold-hi-bucket-lt4h = < 4 h
hold-hi-bucket-4-24h = 4–24 h
hold-hi-bucket-1-3d = 1–3 d
hold-hi-bucket-gt3d = > 3 d
hold-hi-detail = Hold records
hold-hi-progress = Running in the background: { $percent } %
hold-hi-cancel = Cancel
hold-hi-cancelled = The query was cancelled.
hold-hi-failed = The query failed: { $message }
hold-hi-expired = The result expired; running the query again.
hold-hi-reran = The result had expired; the query ran again.
hold-hi-col-event = Event
hold-hi-col-released-at = Released at
hold-hi-col-released-by = Released by
hold-hi-col-future = Future hold
hold-col-duration = Hold duration
