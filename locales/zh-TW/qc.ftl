# QC-GATE 頁。
