# loaxa — tiếng Việt (mặc định). Mỗi thông điệp có cùng mã trong en.ftl.
# Thuật ngữ như trang của đài và hướng dẫn trong README: buổi phát, bản tin, chiến dịch,
# ampli, nguồn tin của tỉnh, khẩn cấp.

## loaxa status
status-title = loaxa · đài { $station } · { $state }
status-running = đang chạy (pid { $pid })
status-not-running = KHÔNG CHẠY (pid cuối { $pid })
status-updated = cập nhật  { $at }
status-output-ok = đầu ra    { $output } (tốt)
status-output-failing = đầu ra    { $output } (LỖI, đang thử lại)
status-amplifier-on = ampli     bật
status-amplifier-off = ampli     tắt
status-session = buổi phát { $session }
status-session-none = buổi phát không có buổi nào đang phát
status-emergency = KHẨN CẤP  { $title } đang phát ({ $waiting } bản tin khẩn cấp đang chờ)
status-feed = nguồn tin  số { $sequence } · giữ { $bulletins } bản tin · lần cuối liên lạc được { $seen }{ $error }
status-feed-none = chưa có
status-feed-not-yet = chưa lần nào
status-feed-error = { " " }· lỗi gần nhất: { $error }
status-problem = SỰ CỐ     { $problem }
status-reload-refused = TẢI LẠI   { $at } cấu hình mới bị từ chối; đài vẫn chạy theo cấu hình tốt trước đó:
status-refused = từ chối   { $at } { $source } ({ $reason }): { $message }
status-playing = đang phát { $kind } { $title } ({ $start }–{ $end })
status-playing-nothing = đang phát không có gì
status-next = tiếp theo
status-quotas = chỉ tiêu ({ $date })
status-quota = { $campaign }: đã phát { $done }/{ $required }, còn { $planned } lần trong lịch
status-silence = IM LẶNG   từ { $since }: đang phát mà không nghe thấy tiếng ({ $level } dBFS)
status-stopped-note = (đài đã dừng; trạng thái trên là lần cuối đài ghi lại)

## Loại mục trong lịch phát
kind-bulletin = bản tin
kind-fill = nhạc
kind-jingle = nhạc hiệu
kind-relay = tiếp sóng
kind-chime = chuông
kind-emergency = khẩn cấp
kind-fixed = cố định

## loaxa check
check-ok = { $dir }: TỐT · đài { $station } · { $sessions } buổi phát · { $campaigns } chiến dịch · { $bulletins } bản tin · nhạc nền: { $fill }
check-fill-none = không có
check-fill-files = { $files } tệp
check-errors = { $count } lỗi trong { $dir }
diag-error = lỗi
diag-help = gợi ý
diag-warning = cảnh báo

## loaxa plan
plan-title = Lịch phát ngày { $date } ({ $weekday }) · đài { $station }
plan-special = Ngày đặc biệt: { $name } ([[special]] trong schedule.toml)
plan-weekday = Theo lịch thường ngày (không phải ngày đặc biệt)
plan-no-sessions = Hôm nay không có buổi phát nào.
plan-col-time = GIỜ
plan-col-length = DÀI
plan-col-kind = LOẠI
plan-col-title = TIÊU ĐỀ
plan-col-campaign = CHIẾN DỊCH
plan-col-priority = MỨC
plan-music-pieces = nhạc ({ $count } bài)
plan-music = nhạc: { $title }
plan-quotas = Chỉ tiêu chiến dịch
plan-col-required = PHẢI PHÁT
plan-col-done = ĐÃ PHÁT
plan-col-planned = SẼ PHÁT
plan-col-where = Ở BUỔI
plan-short-by = THIẾU { $count }
plan-ok = đủ
plan-warnings = Cảnh báo
priority-normal = thường
priority-priority = ưu tiên
priority-emergency = khẩn cấp
weekday-1 = thứ Hai
weekday-2 = thứ Ba
weekday-3 = thứ Tư
weekday-4 = thứ Năm
weekday-5 = thứ Sáu
weekday-6 = thứ Bảy
weekday-7 = Chủ nhật

## loaxa report
report-title = Báo cáo phát sóng · đài { $station } · từ { $from } đến { $to }
report-heard-only = { " " }· chỉ tính các lần máy nghe lại đã nghe thấy
report-nothing = Không có chiến dịch nào chạy và không phát lần nào của chiến dịch.
report-col-date = ngày
report-col-campaign = chiến dịch
report-col-required = phải phát
report-col-done = đã phát
report-short = THIẾU { $count }{ $reason }
report-today = hôm nay: đã phát { $done }, còn { $planned } lần trong lịch
report-future = sẽ phát: { $planned } lần trong lịch
report-totals = Tổng cộng
report-total = { $campaign }: đã phát { $done }/{ $required }{ $short }   { $title }
report-total-short = , THIẾU { $count } lần trong { $days } ngày
report-emergencies = Bản tin khẩn cấp và bản tin không thuộc chiến dịch
report-emergency-row = { $date } { $time }  { $title }{ $heard }
report-heard-yes = { " " }(máy nghe lại: nghe thấy)
report-heard-no = { " " }(máy nghe lại: KHÔNG nghe thấy)
csv-station = đài
csv-date = ngày
csv-campaign = chiến dịch
csv-title = tiêu đề
csv-required = phải phát
csv-done = đã phát
csv-heard = nghe thấy
csv-short = còn thiếu
csv-state = tình trạng
csv-reason = lý do
csv-time = giờ
csv-kind = loại
csv-days-short = số ngày thiếu
csv-priority = mức
heard-yes = nghe thấy
heard-silent = im lặng
heard-mismatch = không giống bản đã phát
csv-total = TỔNG
state-over = đã qua
state-today = hôm nay (đang phát)
state-future = chưa tới

## Lý do một ngày thiếu (báo cáo)
why-not-heard = máy nghe lại: { $silent } lần im lặng, { $mismatch } lần không giống bản đã phát, { $unjudged } lần chưa xét
why-no-session = hôm đó không có buổi phát
why-no-session-special = hôm đó không có buổi phát (ngày đặc biệt { $name })
why-no-session-allows = không buổi phát nào hôm đó được phép phát chiến dịch này (hoặc chiến dịch không có bản tin hợp lệ)
why-over-subscribed = lịch quá dày: chỉ xếp được { $placed } trên { $required } lần vào các buổi phát
why-stopped = đài ngừng hoạt động: nhật ký phát hôm đó trống
why-clock = lỗi đồng hồ: đồng hồ nhảy và đài đã tạm dừng hoặc bỏ qua
why-interrupted = lần phát bị ngắt hoặc hỏng (mất đầu ra, bị hủy, tin khẩn cấp, khởi động lại)
why-off-air = không phát được: một số mục bị bỏ qua khi đài không phát được
why-off = đài dừng hoặc không phát trong các buổi phát
