# QC-GATE 頁。

qc-intro = 各 QC-GATE 工序（工序代碼同時含 QC 與 GATE）等待中的批號，依進站後的等待時間分組。
qc-waiting-lots = 等待批數
qc-chart-title = 各 QC-GATE 工序等待批數
qc-chart-desc = 每個 QC-GATE 工序一欄，依途程順序；等待批數依等待時間堆疊。
qc-none = 目前沒有批號在 QC-GATE 工序等待。
qc-segment-label = 等待時間
qc-bucket-all = 全部
qc-bucket-lt6h = < 6 小時
qc-bucket-6to12h = 6–12 小時
qc-bucket-12to24h = 12–24 小時
qc-bucket-gt24h = > 24 小時
qc-lots-heading = 等待批號（等待最久者在前）
qc-shown = 顯示 { $total } 批中的 { $shown } 批。
qc-col-move-in = 進站時間
qc-col-waiting = 等待時間
qc-col-waiting-hours = 等待時數（小時）
qc-col-bucket = 等待區間
qc-more = 顯示更多
