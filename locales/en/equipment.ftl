# Equipment pages (/resource, /resource-history, /job-query).

# /resource (equipment status) — keys res-*
res-availability = AVAIL
res-ou = OU
res-ou-formula = OU % = PRD / (PRD + SBY + UDT + SDT + EGT)
res-avail-formula = AVAIL % = (PRD + SBY + EGT) / all tools, NST included
res-tools = Tools
res-kpis = Key figures
res-filter-workcenter_group = Workcenter group
res-filter-location = Location
res-filter-family = Family
res-filter-tool = Tool
res-filter-package_group = Package group
res-filter-production = Production
res-filter-key = Key tool
res-filter-monitored = Monitored
res-all = All
res-yes = Yes
res-no = No
res-apply = Apply
res-clear = Clear filters
res-none = (none)
res-no-data = No data
res-rings-title = OU % per workcenter group
res-ring-title = OU % of { $group }
res-heatmap-title = OU % per workcenter × package group
res-jobs-title = Open maintenance jobs, longest first
res-jobs-total = { $count } open
res-no-jobs = No open maintenance job
res-col-job = Job
res-col-stage = Stage
res-col-symptom = Symptom
res-col-technician = Technician
res-col-created = Opened
res-col-open-for = Open for
res-col-group = Workcenter group
res-col-family = Family
res-col-location = Location
res-col-package-group = Package group
res-cards = Tools
res-cards-title = { $count } tools
res-cards-more = { $count } more tools: narrow the filters or export CSV
res-matrix-title = Status matrix: workcenter group → family → tool
