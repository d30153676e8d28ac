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

## Lỗi cấu hình (loaxa check): vị trí tệp:dòng:cột giữ nguyên, lời giải thích bằng tiếng Việt
cfg-toml-syntax = Sai cú pháp TOML: { $message }
cfg-toml-help = xem mục "schedule.toml reference" trong README.md
cfg-hint-curly-quotes = dòng này có dấu nháy cong (“ ” hoặc ‘ ’), thường do Word hay bàn phím điện thoại tự đổi: hãy gõ lại bằng dấu nháy thẳng "
cfg-hint-quote = chữ phải nằm trong dấu nháy kép, ví dụ: { $line }
cfg-wrong-type = `{ $key }` trong { $what } phải là { $want }, không phải { $got }
cfg-write-it-as = viết là { $example }
cfg-quote-it = giờ phải nằm trong dấu nháy kép: { $key } = "{ $text }"
cfg-want-string = chữ (trong dấu nháy kép)
cfg-want-integer = số nguyên
cfg-want-boolean = true hoặc false
cfg-want-number = số
cfg-want-list = danh sách chữ
cfg-want-table = một mục [ ] riêng
cfg-want-tables = các khối [[ ]]
cfg-type-string = chữ
cfg-type-integer = số nguyên
cfg-type-float = số thập phân
cfg-type-boolean = true/false
cfg-type-datetime = ngày giờ không có dấu nháy
cfg-type-array = danh sách
cfg-type-table = bảng
cfg-example-string = chữ trong dấu nháy kép, ví dụ "Sáng"
cfg-example-integer = chữ số không có dấu nháy, ví dụ 3
cfg-example-boolean = true hoặc false, không có dấu nháy
cfg-example-number = số không có dấu nháy, ví dụ 1.0
cfg-example-list = ["Sáng", "Chiều"]
cfg-example-table = một mục [ ] riêng
cfg-example-tables = các khối [[ ]]
cfg-missing = { $what } thiếu `{ $key }`
cfg-missing-help = thêm `{ $key } = …` vào đó
cfg-not-date = `{ $key }` trong { $what } không phải là ngày: { $text }
cfg-date-help = viết ngày là năm-tháng-ngày, ví dụ 2021-12-31, hoặc ngày/tháng/năm trong dấu nháy, ví dụ "31/12/2021"
cfg-unknown-key = khóa lạ `{ $name }` trong { $what }
cfg-did-you-mean = có phải ý bạn là { $name }?
cfg-keys-are = các khóa của { $what } là: { $keys }
cfg-unknown-name = không có { $what } nào tên { $name }
cfg-names-defined = các { $what } đã khai báo: { $names }
cfg-what-session = buổi phát
cfg-what-campaign = chiến dịch
cfg-what-session-name = tên buổi phát
cfg-what-campaign-id = mã chiến dịch
cfg-what-bulletin-id = mã bản tin
cfg-duplicate = { $what } { $name } bị trùng
cfg-duplicate-help = đã dùng ở dòng { $line }; mỗi tên chỉ được dùng một lần
cfg-not-days = { $text } không phải là ngày trong tuần
cfg-days-help = viết "daily" (hằng ngày), khoảng "mon-fri" hoặc "t2-t6", hoặc danh sách "mon,wed,fri" hoặc "t2,t4,t6"
cfg-not-clock = { $text } không phải là giờ trong ngày
cfg-clock-help = viết giờ:phút trong dấu nháy, ví dụ "05:30" (hoặc "5h30")
cfg-not-duration = `{ $key }` trong { $what }: { $text } không phải là khoảng thời gian
cfg-duration-help = viết ví dụ "30s", "5m", "1h30m" hoặc "45 phút"
cfg-no-start = { $what } không có giờ bắt đầu
cfg-no-start-help = thêm start = "05:30" và end = "06:30", hoặc cron = "0 30 5 * * *" và duration = "60m"
cfg-no-end = { $what } không có giờ kết thúc
cfg-no-end-help = thêm end = "06:30" hoặc duration = "60m"
cfg-ends-before-start = buổi phát kết thúc ({ $end }) trước khi bắt đầu ({ $start })
cfg-midnight-help = `end` phải muộn hơn trong cùng ngày; buổi phát không được qua nửa đêm — hãy tách làm hai
cfg-past-midnight = buổi phát bắt đầu { $start } và dài { $length } thì qua nửa đêm
cfg-end-or-duration = chỉ ghi `end` hoặc `duration`, không ghi cả hai
cfg-remove-one = bỏ một trong hai
cfg-file-not-found = không tìm thấy tệp âm thanh: { $name }
cfg-file-looked = đã tìm ở { $path }; hãy chép tệp vào đó hoặc sửa đường dẫn (đường dẫn tương đối tính từ thư mục cấu hình)
cfg-file-case = có phải ý bạn là { $name }? Trên máy đài chữ hoa và chữ thường khác nhau; hãy viết tên đúng như tên tệp
cfg-reexport = hãy xuất lại tệp dạng MP3, Ogg Vorbis, FLAC, WAV hoặc AAC (M4A)
cfg-not-spoken = không đọc được đoạn chữ: { $why }
cfg-not-spoken-help = kiểm tra `[tts] command` trong station.toml (mặc định: espeak-ng -v vi), hoặc dùng tệp ghi âm với `file`
cfg-fill-unreadable = không đọc được thư mục nhạc nền { $folder }: { $why }
cfg-fill-unreadable-help = tạo thư mục và chép nhạc vào, hoặc bỏ [fill]
cfg-fill-empty = thư mục nhạc nền { $folder } không có tệp âm thanh nào
cfg-fill-empty-help = chép nhạc (MP3, Ogg, FLAC, WAV, M4A) vào đó, hoặc bỏ [fill]
cfg-duration-relay-only = `duration` chỉ dành cho mục tiếp sóng; tệp âm thanh phát đến hết
cfg-duration-relay-only-help = bỏ `duration`, hoặc cắt ngắn tệp
cfg-relay-url = { $url } không phải là địa chỉ luồng http(s)
cfg-relay-url-help = viết đủ địa chỉ luồng, ví dụ "http://127.0.0.1:8000/vov1"
cfg-relay-duration = mục tiếp sóng cần `duration`
cfg-relay-duration-help = thêm ví dụ duration = "30m"
cfg-file-and-relay = một mục có cả `file` và `relay`
cfg-file-and-relay-help = tách thành hai khối [[session.item]]
cfg-item-empty = mỗi mục cần `file` hoặc `relay`
cfg-item-empty-help = thêm file = "audio/….mp3" hoặc relay = "http://…"
cfg-campaign-backwards = chiến dịch kết thúc ({ $until }) trước khi bắt đầu ({ $from })
cfg-campaign-backwards-help = `until` là ngày cuối của chiến dịch, không được trước `from`
cfg-plays-range = plays_per_day { $n } nằm ngoài giới hạn
cfg-plays-range-help = ghi số lần phải phát mỗi ngày, từ 1 đến 96
cfg-file-or-text = bản tin có `file` hoặc `text`, không có cả hai
cfg-file-or-text-help = giữ tệp ghi âm (`file`) hoặc đoạn chữ để đọc (`text`)
cfg-no-file-no-text = { $what } không có `file` cũng không có `text`
cfg-no-file-no-text-help = thêm `file = "audio/….mp3"`, hoặc `text = "…"` để đài tự đọc
cfg-valid-backwards = bản tin có hạn đến { $until } nhưng chỉ bắt đầu từ { $from }
cfg-valid-backwards-help = `valid_until` là ngày cuối được phát, không được trước `valid_from`
cfg-priority = mức ưu tiên lạ { $text }
cfg-priority-help = dùng "normal" (thường), "priority" (ưu tiên) hoặc "emergency" (khẩn cấp)
cfg-timezone = múi giờ lạ { $text }
cfg-timezone-help = dùng tên IANA, ví dụ "Asia/Ho_Chi_Minh"
cfg-special-needs-at = mục của ngày đặc biệt cần `at`
cfg-special-needs-at-help = ghi giờ phát, ví dụ at = "07:00"
cfg-special-needs-date = ngày đặc biệt cần ít nhất một ngày
cfg-special-needs-date-help = ví dụ dates = ["2025-09-02"], ["2026-02-16..2026-02-22"] hoặc ["âl:01-01"]
cfg-special-collides = mục lúc { $at } trùng với mục cố định lúc { $other } của buổi { $session }
cfg-special-collides-help = dời `at` ra khỏi đó, hoặc bỏ buổi đó khỏi `sessions` của ngày
cfg-special-no-session = mục lúc { $at } không nằm trong buổi phát nào của ngày
cfg-special-no-session-help = mục của ngày đặc biệt được thêm vào buổi phát chứa nó: dời `at` vào trong một buổi, hoặc ghi tên buổi trong `sessions`
cfg-unreadable = không đọc được tệp: { $why }
cfg-unreadable-help = kiểm tra --config (hoặc LOAXA_CONFIG) trỏ đúng thư mục cấu hình
cfg-not-utf8 = tệp không phải là UTF-8
cfg-not-utf8-help = lưu lại dưới dạng UTF-8 (hầu hết trình soạn thảo: "Lưu với mã hóa" → UTF-8)

## Cảnh báo của lịch phát (loaxa plan, loaxa check)
warn-no-valid-bulletin = chiến dịch { $campaign }: ngày { $date } không có bản tin hợp lệ; { $plays } lần phát không xếp được
warn-unknown-campaign = bản tin { $bulletin }: không có chiến dịch { $campaign }; bản tin không được xếp lịch
warn-special-outside = ngày đặc biệt { $special }: { $item } lúc { $at } không nằm trong buổi phát nào; bị bỏ
warn-session-overlap = buổi { $session } lúc { $at } trùng giờ với buổi { $other }; bị bỏ qua
warn-session = buổi { $session } lúc { $at }: { $what }
warn-silence = { $length } im lặng từ { $from } (chưa khai báo nhạc nền [fill])
warn-opening = nhạc hiệu mở đầu không vừa; bị bỏ qua
warn-no-room = không còn chỗ cho { $item }; bị bỏ
warn-fixed-outside = mục cố định lúc { $at } nằm ngoài buổi phát; bị bỏ
warn-fixed-past-end = mục cố định lúc { $at } kéo dài quá giờ kết thúc buổi; bị bỏ
warn-fixed-collides = mục cố định lúc { $at } trùng với mục trước nó; bị bỏ
warn-relay-cut = tiếp sóng lúc { $at } bị cắt ngắn cho vừa giờ kết thúc buổi
warn-quota-short = chiến dịch { $campaign }: hôm nay chỉ xếp được { $got } trên { $required } lần ({ $sessions }, cách nhau ít nhất { $min_gap }); thiếu { $dropped } lần
warn-any-session = mọi buổi
warn-bulletin-no-room = bản tin { $bulletin }: các buổi hôm nay không còn chỗ; bị bỏ
check-warnings = Cảnh báo cho { $days } ngày tới (lịch vẫn hợp lệ; xem chi tiết bằng loaxa plan --date …):
check-every-day = mỗi ngày
status-restart-needed = KHỞI ĐỘNG LẠI { $at } đã đổi { $what }: chỉ có hiệu lực sau khi khởi động lại đài (systemctl restart loaxa)

## Lỗi của station.toml (kỹ thuật viên cài đặt)
st-language = ngôn ngữ lạ { $text }
st-language-help = viết language = "vi" (tiếng Việt, mặc định) hoặc "en" (tiếng Anh)
st-station-id = station_id { $id } không phải là mã đài hợp lệ
st-station-id-help = dùng chữ thường không dấu, chữ số và dấu gạch ngang, ví dụ "hn-ba-vi-tan-linh"
st-output = đầu ra âm thanh lạ { $output }
st-output-help = dùng một trong: default, alsa:<pcm>, pulse, pulse:<sink>, wav:<đường dẫn>, null (lệnh `loaxa devices` liệt kê chúng)
st-volume = volume { $value } nằm ngoài giới hạn
st-volume-help = dùng số từ 0.0 (tắt tiếng) đến 1.0 (to nhất)
st-loudness = loudness_target { $value } LUFS nằm ngoài giới hạn
st-loudness-help = tiếng nói phát thanh thường từ -23 đến -14 LUFS; -16.0 hợp với loa ngoài trời
st-trim = trim_silence_below { $value } dBFS nằm ngoài giới hạn
st-trim-help = dùng từ -70.0 đến -30.0 (đo theo bước 5 dB); -50.0 hợp với tiếng nói
st-max-duration = max_duration phải từ 10s đến 24h
st-max-duration-help = mặc định là "4h"; một bản tin hay một lần tiếp sóng dài vài phút đến vài giờ
st-quiet-hours = quiet_hours: { $why }
st-quiet-hours-help = viết khoảng giờ, ví dụ "22:00-05:00" (hoặc "22h-5h")
st-feed-url = địa chỉ nguồn tin { $url } không phải là địa chỉ http(s)
st-feed-url-help = viết đủ địa chỉ, ví dụ "https://tinh.example/loaxa/feed.json"
st-public-key = đây không phải là khóa công khai minisign ({ $why })
st-public-key-help = chép dòng thứ hai của tệp .pub của tỉnh: 56 ký tự, bắt đầu bằng "RW"
st-poll = chu kỳ hỏi nguồn tin ngắn hơn 5s
st-poll-help = hỏi khoảng 60s một lần; nguồn tin dùng yêu cầu có điều kiện nên không tốn băng thông
st-max-bytes = max_bulletin_bytes phải là số byte dương
st-max-bytes-help = ví dụ 52428800 cho 50 MiB
st-no-keys = [feed] có url nhưng không có public_keys: không thứ gì từ đó được tin cậy
st-no-keys-help = thêm khóa công khai minisign của tỉnh: public_keys = ["RW…"]
st-chime = không tìm thấy tệp { $key }: { $path }
st-chime-help = chép tệp vào đó hoặc sửa đường dẫn (đường dẫn tương đối tính từ thư mục cấu hình)
st-listen = { $text } không phải là địa chỉ để lắng nghe
st-listen-help = viết IP:cổng, ví dụ "127.0.0.1:8470"
st-token = [api] token phải dài 16 đến 256 ký tự ASCII in được
st-token-help = tạo một mã bằng, ví dụ, `openssl rand -hex 24`
st-tts = lệnh đọc chữ phải ghi tệp WAV nó tạo ra là {"{"}out{"}"}
st-tts-help = ví dụ ["espeak-ng", "-v", "vi", "-w", "{"{"}out{"}"}", "--stdin"] (đoạn chữ được đưa vào đầu vào chuẩn, hoặc vào chỗ {"{"}text{"}"})
st-areas = areas có nhiều hơn { $max } mã vùng
st-area = vùng { $text } không phải là mã vùng
st-area-help = viết mã vùng như cảnh báo CAP của tỉnh, TÊN=GIÁ_TRỊ, ví dụ "VN-ADM=31"
st-amp-empty = lệnh `{ $key }` của ampli trống
st-amp-empty-help = ghi chương trình và tham số, ví dụ ["/usr/local/bin/relay", "on"]

## loaxa fleet (tỉnh)
fleet-col-station = ĐÀI
fleet-col-online = KẾT NỐI
fleet-col-last-seen = LẦN CUỐI THẤY
fleet-col-on-air = ĐANG PHÁT
fleet-col-feed = NGUỒN
fleet-col-quotas = CHỈ TIÊU / LỖI GẦN NHẤT
fleet-col-outcome = KẾT QUẢ
fleet-col-latency = ĐỘ TRỄ
fleet-col-reason = LÝ DO
fleet-yes = có
fleet-no = không
fleet-total = { $count } đài, { $online } đang kết nối
fleet-push = bản tin gửi { $id }
fleet-silent = IM LẶNG
fleet-not-expected = { " " }(không chờ đài này)
fleet-accepted = { $accepted } trên { $expected } đài cần nhận đã nhận
fleet-none-expected = lỗi: không đài nào được chờ trả lời (không đài nào đang kết nối)
fleet-nudged = đã báo mọi đài hỏi nguồn tin ngay
