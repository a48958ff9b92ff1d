# Hold pages (/hold-overview, /hold-detail, /hold-history).
