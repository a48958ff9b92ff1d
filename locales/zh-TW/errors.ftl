# JSON 回應 error.message 與錯誤頁的訊息，依錯誤代碼（代碼本身不翻譯）。
# { $detail } 是處理程式的英文原文（保留欄位、參數、標頭名稱）；{ $seconds } 是 Retry-After 秒數。

err-validation-error = 請求的參數或內容有誤：{ $detail }
err-unauthorized = 尚未登入或帳號密碼錯誤：{ $detail }
err-forbidden = 沒有權限：{ $detail }
err-csrf-token-missing = 此請求會變更資料，需要 CSRF 權杖：請在 X-CSRF-Token 標頭送出（可由 GET /api/auth/csrf 取得），或由表單的隱藏欄位 csrf_token 送出。
err-csrf-token-invalid = CSRF 權杖無效：權杖屬於單一工作階段，登入與登出時會更換。請在 X-CSRF-Token 標頭送出目前的權杖（GET /api/auth/csrf），或重新載入表單後再送出。
err-csrf-origin-rejected = 已拒絕跨站請求（{ $detail }）。
err-not-found = 找不到資料：{ $detail }
err-method-not-allowed = 此路徑不接受這個方法；可用的方法列在 Allow 標頭。
err-conflict = 與目前狀態衝突：{ $detail }
err-restart-policy-blocked = 重啟政策目前封鎖此操作：{ $detail }
err-restart-not-supervised = 此程序未由監控程序管理，無法重啟：{ $detail }
err-restart-override-reason-required = 強制重啟必須填寫原因（reason）：{ $detail }
err-payload-too-large = 請求內容過大（上限 MAX_JSON_BODY_BYTES）：{ $detail }
err-unsupported-media-type = 不支援的內容類型：{ $detail }
err-too-many-requests = 請求過於頻繁，請於 { $seconds } 秒後再試：{ $detail }
err-internal-error = 系統發生內部錯誤，已記錄。
err-db-query-error = 資料庫無法執行查詢。
err-db-pool-exhausted = 資料庫連線皆忙碌中，請於 { $seconds } 秒後重試。
err-circuit-breaker-open = 資料庫異常，已暫停呼叫（斷路器開啟），請於 { $seconds } 秒後重試。
err-db-connection-failed = 無法連線到資料庫，請於 { $seconds } 秒後重試。
err-service-unavailable = 服務暫時無法使用，請於 { $seconds } 秒後重試：{ $detail }
err-db-query-timeout = 資料庫查詢逾時，已取消。
err-request-timeout = 請求內容未在時限內送達（BODY_READ_TIMEOUT）：{ $detail }
err-job-expired = 背景查詢的結果已過期，請重新查詢：{ $detail }
