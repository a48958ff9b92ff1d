# 每一頁的外框：頁首、選單、健康狀態、用戶端程式、錯誤頁。

shell-nav-label = 報表
shell-dev-badge = 開發中
shell-logout = 登出
shell-health-title = 系統健康狀態，自動更新
shell-health-unknown = 健康狀態：檢查中…

nav-realtime = 即時報表
nav-history = 歷史報表
nav-query = 查詢工具
nav-admin = 系統管理

page-portal = 首頁
page-portal-desc = 入口頁：所有報表集中於此。
page-wip-overview = 在製品總覽
page-wip-overview-desc = 各站點、各封裝的在製批數與數量。
page-hold-overview = 暫停（Hold）總覽
page-hold-overview-desc = 暫停中的批號，依原因與停留時間。
page-resource = 設備即時狀態
page-resource-desc = 每台機台的 SEMI E10 即時狀態。
page-resource-history = 設備歷史
page-resource-history-desc = 一段期間的狀態歷程、稼動率（OU%）與可用率。
page-wip-detail = 在製品明細
page-wip-detail-desc = 一個站點的在製批號，依工序分欄。
page-hold-detail = 暫停原因明細
page-hold-detail-desc = 單一暫停原因的批號、停留天數與分布。
page-hold-history = 暫停歷史
page-hold-history-desc = 一段期間的暫停與解除、趨勢與原因排行。
page-job-query = 維修工單查詢
page-job-query-desc = 指定機台與期間的維修工單及其交易紀錄。
page-qc-gate = QC-GATE 等待
page-qc-gate-desc = 各 QC-GATE 工序的等待批號與等待時間。
page-admin-pages = 頁面管理
page-admin-pages-desc = 發布報表頁面，或保留在開發中。
page-admin-performance = 系統效能
page-admin-performance-desc = 健康狀態、連線池、快取與工作程序。

health-healthy = 正常
health-degraded = 降級
health-unhealthy = 異常
health-unknown = 健康狀態：檢查中…

client-retrying = { $message } 將於 { $seconds } 秒後自動重試。
client-retry-failed = { $message } 已停止自動重試，請按「立即重試」。
client-retry-now = 立即重試
client-stale = 資料已過時，為 { $time } 的資料
client-as-of = 資料時間 { $time }
client-unreachable = 無法連線到伺服器。

data-current = 目前資料，
data-stale = 資料已過時
data-stale-explain = 最近一次更新失敗；顯示的資料
data-computed-at = 計算於 { $time }（{ $age } 秒前）。
data-as-of = 資料時間 { $time }

unit-seconds = 秒

error-title-not-found = 找不到頁面
error-title-form-expired = 表單已過期
error-title-log-in = 請先登入
error-title-forbidden = 沒有權限
error-title-degraded = 服務暫時降級
error-title-internal = 系統發生錯誤
error-title-rejected = 無法接受此請求
error-csrf-advice = 請返回上一頁，重新載入表單以取得新的安全權杖後再送出。
error-retrying-before = 將於
error-retrying-after = 秒後自動重試…
error-code-line = 錯誤代碼
error-details-heading = 詳細資訊（僅開發模式）
error-back-home = 回到首頁

login-heading = 登入
login-username = 帳號
login-password = 密碼
login-submit = 登入
login-hint = 請使用公司帳號登入。

logout-heading = 登出
logout-logged-in-as = 您目前以 { $name } 身分登入。
logout-not-logged-in = 您尚未登入。

portal-welcome = 歡迎，{ $name }
portal-choose = 請選擇報表。

duration-days-hours = { $days } 天 { $hours } 小時
duration-hours-minutes = { $hours } 小時 { $minutes } 分
duration-minutes = { $minutes } 分
