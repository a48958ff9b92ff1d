# 暫停頁（/hold-overview、/hold-detail、/hold-history）。

## 暫停批號清單（表格與 CSV 標題）
hold-lot-col-lot = 批號
hold-lot-col-work-order = 工單
hold-lot-col-quantity = 數量 (pcs)
hold-lot-col-product = 產品
hold-lot-col-package = 封裝
hold-lot-col-workcenter = 站別
hold-lot-col-reason = 暫停原因
hold-lot-col-type = 暫停類型
hold-lot-col-step = 製程步驟
hold-lot-col-age = 站內天數
hold-lot-col-hold-at = 暫停時間
hold-lot-col-duration = 暫停時數 (h)
hold-lot-col-by = 暫停人員
hold-lot-col-department = 部門
hold-lot-col-comment = 暫停備註
hold-lot-col-future-comment = 預約暫停備註

## 共用字詞
hold-type-quality = 品質
hold-type-non-quality = 非品質
hold-type-all = 全部
hold-type-label = 暫停類型
hold-kpi-lots = 暫停批數
hold-kpi-pcs = 暫停數量 (pcs)
hold-kpi-avg-age = 平均站內天數
hold-kpi-max-age = 最長站內天數
hold-kpi-groups = 受影響站群
hold-pcs = { $pcs } pcs
hold-age-title = 站內天數
hold-age-0-1 = 0–1 天
hold-age-1-3 = 1–3 天
hold-age-3-7 = 3–7 天
hold-age-7 = 7 天以上
hold-lots-title = 暫停批號
hold-lots-count = 共 { $total } 批
hold-export-csv = 匯出 CSV
hold-page-prev = 上一頁
hold-page-next = 下一頁
hold-page-of = 第 { $page } / { $pages } 頁
hold-clear-filter = 清除表格篩選
hold-table-filter = 表格篩選：{ $filter }
hold-loading = 載入中…
hold-empty = 沒有符合的暫停批號。
hold-chart-empty = 沒有資料。
hold-value-lots = 批數
hold-cumulative = 累計 %

## /hold-overview
hold-ov-matrix = 站別 × 封裝 暫停數量
hold-ov-matrix-total = 合計
hold-ov-pareto-quality = 品質暫停原因柏拉圖
hold-ov-pareto-non-quality = 非品質暫停原因柏拉圖
hold-ov-pareto-desc = 各暫停原因的批數，由大到小並附累計比例；點選長條開啟該原因明細。
hold-ov-reason = 原因
hold-ov-matrix-hint = 點選儲存格可篩選下方表格。

## /hold-detail
hold-dt-reason = 暫停原因
hold-dt-no-reason = 請從暫停總覽選擇一個暫停原因。
hold-dt-workcenters = 站別數
hold-dt-packages = 封裝數
hold-dt-by-workcenter = 依站別
hold-dt-by-package = 依封裝
hold-dt-chart-desc = 暫停批數；點選長條可篩選表格。
hold-dt-back = 回暫停總覽

## /hold-history
hold-hi-mode = 期間
hold-hi-mode-range = 日期區間
hold-hi-mode-today = 今日
hold-hi-mode-shift = 本班
hold-hi-from = 起
hold-hi-to = 迄
hold-hi-run = 查詢
hold-hi-record-type = 紀錄類型
hold-hi-record-all = 全部
hold-hi-record-new = 新增
hold-hi-record-released = 已解除
hold-hi-record-on-hold = 暫停中
hold-hi-card-new = 新增暫停
hold-hi-card-new-per-day = 每日新增
hold-hi-card-released = 解除暫停
hold-hi-card-released-per-day = 每日解除
hold-hi-card-future = 預約暫停
hold-hi-card-repeated = 重複品質暫停
hold-hi-card-net = 淨增減
hold-hi-card-avg-release = 平均解除時間
hold-hi-card-max-release = 最長解除時間
hold-hi-card-on-hold = 目前暫停
hold-hi-trend = 每日趨勢
hold-hi-trend-desc = 每個班日的新增、解除與預約暫停（長條）及暫停中批數（折線）。
hold-hi-trend-new = 新增
hold-hi-trend-released = 解除
hold-hi-trend-future = 預約
hold-hi-trend-on-hold = 暫停中
hold-hi-day = 班日
hold-hi-pareto = 暫停原因
hold-hi-buckets = 暫停時長
hold-hi-bucket-lt4h = 未滿 4 小時
hold-hi-bucket-4-24h = 4–24 小時
hold-hi-bucket-1-3d = 1–3 天
hold-hi-bucket-gt3d = 超過 3 天
hold-hi-detail = 暫停紀錄
hold-hi-progress = 背景執行中：{ $percent } %
hold-hi-cancel = 取消
hold-hi-cancelled = 查詢已取消。
hold-hi-failed = 查詢失敗：{ $message }
hold-hi-expired = 結果已過期，重新查詢中。
hold-hi-reran = 結果已過期，已重新查詢。
hold-hi-col-event = 事件
hold-hi-col-released-at = 解除時間
hold-hi-col-released-by = 解除人員
hold-hi-col-future = 預約暫停
hold-col-duration = 暫停時間
