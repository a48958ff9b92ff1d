# 設備頁（/resource、/resource-history、/job-query）。
