# WIP pages (/wip-overview, /wip-detail, the home page's WIP card).
