# The QC-GATE page.

qc-intro = Lots waiting at each QC-GATE step (a step whose code contains both QC and GATE), by time since move-in.
qc-waiting-lots = Lots waiting
qc-chart-title = Waiting lots per QC-GATE step
qc-chart-desc = One column per QC-GATE step in route order, its waiting lots stacked by waiting time.
qc-none = No lot is waiting at a QC-GATE step.
qc-segment-label = Waiting time
qc-bucket-all = All
qc-bucket-lt6h = < 6 h
qc-bucket-6to12h = 6–12 h
qc-bucket-12to24h = 12–24 h
qc-bucket-gt24h = > 24 h
qc-lots-heading = Waiting lots, longest wait first
qc-shown = Showing { $shown } of { $total } lots.
qc-col-move-in = Move-in
qc-col-waiting = Waiting
qc-col-waiting-hours = Waiting (h)
qc-col-bucket = Waiting time
qc-more = Show more
