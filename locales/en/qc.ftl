# The QC-GATE page.
