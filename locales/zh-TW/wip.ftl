# 在製品頁（/wip-overview、/wip-detail、首頁的在製品卡）。
