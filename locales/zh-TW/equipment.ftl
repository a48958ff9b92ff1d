# 設備頁（/resource、/resource-history、/job-query）。

# /resource（設備狀態）— res-* 鍵
res-availability = 可用率（AVAIL）
res-ou = 稼動率（OU）
res-ou-formula = 稼動率 OU % = PRD / (PRD + SBY + UDT + SDT + EGT)
res-avail-formula = 可用率 AVAIL % = (PRD + SBY + EGT) / 全部機台（含 NST）
res-tools = 機台數
res-kpis = 關鍵指標
res-filter-workcenter_group = 站別群組
res-filter-location = 位置
res-filter-family = 機型
res-filter-tool = 機台
res-filter-package_group = 封裝群組
res-filter-production = 生產機台
res-filter-key = 關鍵機台
res-filter-monitored = 監控機台
res-all = 全部
res-yes = 是
res-no = 否
res-apply = 套用
res-clear = 清除篩選
res-none = （無）
res-no-data = 無資料
res-rings-title = 各站別群組稼動率（OU %）
res-ring-title = { $group } 稼動率（OU %）
res-heatmap-title = 站別 × 封裝群組稼動率（OU %）
res-jobs-title = 未結維修單（開單最久者在前）
res-jobs-total = 共 { $count } 張未結
res-no-jobs = 目前沒有未結維修單
res-col-job = 維修單
res-col-stage = 階段
res-col-symptom = 故障現象
res-col-technician = 技術員
res-col-created = 開單時間
res-col-open-for = 已開單
res-col-group = 站別群組
res-col-family = 機型
res-col-location = 位置
res-col-package-group = 封裝群組
res-cards = 機台
res-cards-title = 共 { $count } 台機台
res-cards-more = 另有 { $count } 台機台：請縮小篩選範圍或匯出 CSV
res-matrix-title = 狀態矩陣：站別群組 → 機型 → 機台
