# 暫停頁（/hold-overview、/hold-detail、/hold-history）。
