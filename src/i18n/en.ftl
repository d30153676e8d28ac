# loaxa — English (on request: language = "en", --lang en or LOAXA_LANG=en). Every
# message has the same id in vi.ftl.

## loaxa status
status-title = loaxa · station { $station } · { $state }
status-running = running (pid { $pid })
status-not-running = NOT RUNNING (last pid { $pid })
status-updated = updated   { $at }
status-output-ok = output    { $output } (ok)
status-output-failing = output    { $output } (FAILING, retrying)
status-amplifier-on = amplifier on
status-amplifier-off = amplifier off
status-session = session   { $session }
status-session-none = session   none on air
status-emergency = EMERGENCY { $title } on air ({ $waiting } more waiting)
status-feed = feed      sequence { $sequence } · { $bulletins } bulletins held · last reached { $seen }{ $error }
status-feed-none = none
status-feed-not-yet = not yet
status-feed-error = { " " }· last error: { $error }
status-problem = PROBLEM   { $problem }
status-reload-refused = RELOAD    { $at } the new configuration was refused; still on the last good one:
status-refused = refused   { $at } { $source } ({ $reason }): { $message }
status-playing = playing   { $kind } { $title } ({ $start }–{ $end })
status-playing-nothing = playing   nothing
status-next = next
status-quotas = quotas ({ $date })
status-quota = { $campaign }: { $done }/{ $required } done, { $planned } more planned
status-silence = SILENCE   since { $since }: on air and nothing heard ({ $level } dBFS)
status-stopped-note = (the station has stopped; the above is the last it recorded)

## Kinds of plan items
kind-bulletin = bulletin
kind-fill = music
kind-jingle = jingle
kind-relay = relay
kind-chime = chime
kind-emergency = emergency
kind-fixed = fixed

## loaxa check
check-ok = { $dir }: OK · station { $station } · { $sessions ->
    [one] { $sessions } session
   *[other] { $sessions } sessions
} · { $campaigns ->
    [one] { $campaigns } campaign
   *[other] { $campaigns } campaigns
} · { $bulletins ->
    [one] { $bulletins } bulletin
   *[other] { $bulletins } bulletins
} · fill: { $fill }
check-fill-none = none
check-fill-files = { $files } files
check-errors = { $count ->
    [one] { $count } error
   *[other] { $count } errors
} in { $dir }
diag-error = error
diag-help = help
diag-warning = warning

## loaxa plan
plan-title = Plan for { $date } ({ $weekday }) · station { $station }
plan-special = Special day: { $name } ([[special]] in schedule.toml)
plan-weekday = Weekday rules (no special day)
plan-no-sessions = No sessions on this day.
plan-col-time = TIME
plan-col-length = LENGTH
plan-col-kind = KIND
plan-col-title = TITLE
plan-col-campaign = CAMPAIGN
plan-col-priority = PRIORITY
plan-music-pieces = music ({ $count } pieces)
plan-music = music: { $title }
plan-quotas = Campaign quotas
plan-col-required = REQUIRED
plan-col-done = DONE
plan-col-planned = PLANNED
plan-col-where = WHERE
plan-short-by = SHORT BY { $count }
plan-ok = ok
plan-warnings = Warnings
priority-normal = normal
priority-priority = priority
priority-emergency = emergency
weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun

## loaxa report
report-title = Proof of play · station { $station } · { $from } to { $to }
report-heard-only = { " " }· only plays the monitor heard
report-nothing = No campaign ran and nothing of a campaign played.
report-col-date = date
report-col-campaign = campaign
report-col-required = required
report-col-done = done
report-short = SHORT BY { $count }{ $reason }
report-today = today: { $done } done, { $planned } more planned
report-future = to come: { $planned } planned
report-totals = Totals
report-total = { $campaign }: { $done }/{ $required } done{ $short }   { $title }
report-total-short = , SHORT BY { $count } on { $days ->
    [one] { $days } day
   *[other] { $days } days
}
report-emergencies = Emergencies and bulletins of no campaign
report-emergency-row = { $date } { $time }  { $title }{ $heard }
report-heard-yes = { " " }(monitor: heard)
report-heard-no = { " " }(monitor: NOT heard)
csv-station = station
csv-date = date
csv-campaign = campaign
csv-title = title
csv-required = required
csv-done = done
csv-heard = heard
csv-short = short
csv-state = state
csv-reason = reason
csv-time = time
csv-kind = kind
csv-days-short = days short
csv-priority = priority
heard-yes = heard
heard-silent = silent
heard-mismatch = not as sent
csv-total = TOTAL
state-over = over
state-today = today (in progress)
state-future = to come

## Why a day fell short (report)
why-not-heard = not heard: the monitor heard { $silent } play(s) silent, { $mismatch } not as sent, { $unjudged } not judged
why-no-session = no session that day
why-no-session-special = no session that day (special day { $name })
why-no-session-allows = none of the day's sessions may carry it (or it had no valid bulletin)
why-over-subscribed = over-subscribed: only { $placed } of { $required } fit in the day's sessions
why-stopped = station stopped: nothing in the as-run log that day
why-clock = clock fault: the clock stepped and the station held or skipped
why-interrupted = plays interrupted or failed (output lost, a cancel, an emergency, a restart)
why-off-air = off air: items were skipped while the station could not play
why-off = station stopped or off air during the sessions

## Config errors (loaxa check): file:line:column stays as is, the words in English
cfg-toml-syntax = TOML syntax: { $message }
cfg-toml-help = see the schedule.toml reference in README.md
cfg-hint-curly-quotes = this line has curly quotes (“ ” or ‘ ’), as a word processor or a phone keyboard makes them: type them again as straight quotes "
cfg-hint-quote = text goes in double quotes, e.g. { $line }
cfg-wrong-type = `{ $key }` in { $what } must be { $want }, not { $got }
cfg-write-it-as = write it as { $example }
cfg-quote-it = a time goes in double quotes: { $key } = "{ $text }"
cfg-want-string = a string
cfg-want-integer = a whole number
cfg-want-boolean = true or false
cfg-want-number = a number
cfg-want-list = a list of strings
cfg-want-table = a table
cfg-want-tables = a list of tables
cfg-type-string = string
cfg-type-integer = integer
cfg-type-float = float
cfg-type-boolean = boolean
cfg-type-datetime = datetime
cfg-type-array = array
cfg-type-table = table
cfg-example-string = text in double quotes, e.g. "Sáng"
cfg-example-integer = digits without quotes, e.g. 3
cfg-example-boolean = true or false, without quotes
cfg-example-number = a number without quotes, e.g. 1.0
cfg-example-list = ["Sáng", "Chiều"]
cfg-example-table = a [section] of its own
cfg-example-tables = [[section]] blocks
cfg-missing = { $what } has no `{ $key }`
cfg-missing-help = add `{ $key } = …` to it
cfg-not-date = `{ $key }` in { $what } is not a date: { $text }
cfg-date-help = write a date as YYYY-MM-DD, e.g. 2021-12-31, or "31/12/2021" in quotes
cfg-unknown-key = unknown key `{ $name }` in { $what }
cfg-did-you-mean = did you mean { $name }?
cfg-keys-are = the keys of { $what } are: { $keys }
cfg-unknown-name = unknown { $what } { $name }
cfg-names-defined = the { $what }s defined here are: { $names }
cfg-what-session = session
cfg-what-campaign = campaign
cfg-what-session-name = session name
cfg-what-campaign-id = campaign id
cfg-what-bulletin-id = bulletin id
cfg-duplicate = duplicate { $what } { $name }
cfg-duplicate-help = it is already used on line { $line }; each must be unique
cfg-not-days = { $text } is not a set of days
cfg-days-help = write "daily", a range like "mon-fri" or "t2-t6", or a list like "mon,wed,fri"
cfg-not-clock = { $text } is not a time of day
cfg-clock-help = write it as HH:MM in quotes, e.g. "05:30" (or "5h30")
cfg-not-duration = `{ $key }` in { $what }: { $text } is not a duration
cfg-duration-help = write e.g. "30s", "5m", "1h30m" or "45 phút"
cfg-no-start = { $what } has no start time
cfg-no-start-help = add start = "05:30" and end = "06:30", or cron = "0 30 5 * * *" and duration = "60m"
cfg-no-end = { $what } has no end
cfg-no-end-help = add end = "06:30" or duration = "60m"
cfg-ends-before-start = session ends ({ $end }) before it starts ({ $start })
cfg-midnight-help = `end` must be later the same day; a session cannot cross midnight — split it in two
cfg-past-midnight = session starting { $start } and lasting { $length } runs past midnight
cfg-end-or-duration = give `end` or `duration`, not both
cfg-remove-one = remove one of them
cfg-file-not-found = audio file not found: { $name }
cfg-file-looked = looked for { $path }; put the file there or fix the path (relative paths start at the config dir)
cfg-file-case = did you mean { $name }? Upper and lower case differ on a station's disk; write the name exactly as the file is named
cfg-reexport = re-export it as MP3, Ogg Vorbis, FLAC, WAV or AAC (M4A)
cfg-not-spoken = the text cannot be spoken: { $why }
cfg-not-spoken-help = check `[tts] command` in station.toml (default: espeak-ng -v vi), or give a recording with `file`
cfg-fill-unreadable = fill folder { $folder } cannot be read: { $why }
cfg-fill-unreadable-help = create the folder and put music files in it, or remove [fill]
cfg-fill-empty = fill folder { $folder } has no audio files
cfg-fill-empty-help = put some music (MP3, Ogg, FLAC, WAV, M4A) in it, or remove [fill]
cfg-duration-relay-only = `duration` is for relay items; a file plays to its end
cfg-duration-relay-only-help = remove `duration`, or trim the file
cfg-relay-url = relay { $url } is not an http(s) stream URL
cfg-relay-url-help = write the stream's full address, e.g. "http://127.0.0.1:8000/vov1"
cfg-relay-duration = a relay item needs a `duration`
cfg-relay-duration-help = add e.g. duration = "30m"
cfg-file-and-relay = an item has both `file` and `relay`
cfg-file-and-relay-help = split it into two [[session.item]] blocks
cfg-item-empty = an item needs `file` or `relay`
cfg-item-empty-help = add file = "audio/….mp3" or relay = "http://…"
cfg-campaign-backwards = campaign ends ({ $until }) before it starts ({ $from })
cfg-campaign-backwards-help = `until` is the last day of the campaign and must not be before `from`
cfg-plays-range = plays_per_day { $n } is out of range
cfg-plays-range-help = give how many times a day it must play, from 1 to 96
cfg-file-or-text = a bulletin has `file` or `text`, not both
cfg-file-or-text-help = keep the recording (`file`) or the text to be spoken (`text`)
cfg-no-file-no-text = { $what } has no `file` and no `text`
cfg-no-file-no-text-help = add `file = "audio/….mp3"`, or `text = "…"` to have it spoken
cfg-valid-backwards = bulletin is valid until { $until } but only from { $from }
cfg-valid-backwards-help = `valid_until` is the last day it may play and must not be before `valid_from`
cfg-priority = unknown priority { $text }
cfg-priority-help = use "normal", "priority" or "emergency"
cfg-timezone = unknown time zone { $text }
cfg-timezone-help = use an IANA name such as "Asia/Ho_Chi_Minh"
cfg-special-needs-at = an item of a special day needs `at`
cfg-special-needs-at-help = give its clock time, e.g. at = "07:00"
cfg-special-needs-date = a special day needs at least one date
cfg-special-needs-date-help = e.g. dates = ["2025-09-02"], ["2026-02-16..2026-02-22"] or ["âl:01-01"]
cfg-special-collides = the item at { $at } collides with session { $session }'s fixed item at { $other }
cfg-special-collides-help = move `at` clear of it, or leave that session out of the day's `sessions`
cfg-special-no-session = the item at { $at } falls in none of the day's sessions
cfg-special-no-session-help = a special day's items are added to the session they fall in: move `at` inside one, or name the session in `sessions`
cfg-unreadable = cannot read the file: { $why }
cfg-unreadable-help = check --config (or LOAXA_CONFIG) points at the config dir
cfg-not-utf8 = the file is not valid UTF-8
cfg-not-utf8-help = save it as UTF-8 (most editors: "Save with encoding" → UTF-8)

## Plan warnings (loaxa plan, loaxa check)
warn-no-valid-bulletin = campaign { $campaign }: no valid bulletin on { $date }; its { $plays } plays cannot be planned
warn-unknown-campaign = bulletin { $bulletin }: its campaign { $campaign } is unknown; it is not planned
warn-special-outside = special day { $special }: { $item } at { $at } falls in none of the day's sessions; it is dropped
warn-session-overlap = session { $session } at { $at } overlaps session { $other }; it is skipped
warn-session = session { $session } at { $at }: { $what }
warn-silence = { $length } of silence from { $from } (no [fill] configured)
warn-opening = the opening does not fit; it is skipped
warn-no-room = no room for { $item }; it is dropped
warn-fixed-outside = fixed item at { $at } is outside the session; it is dropped
warn-fixed-past-end = fixed item at { $at } would run past the session end; it is dropped
warn-fixed-collides = fixed item at { $at } collides with the one before; it is dropped
warn-relay-cut = relay at { $at } is cut to end with the session
warn-quota-short = campaign { $campaign }: only { $got } of { $required } plays fit today ({ $sessions }, min_gap { $min_gap }); { $dropped } dropped
warn-any-session = any session
warn-bulletin-no-room = bulletin { $bulletin }: no room in today's sessions; it is dropped
check-warnings = Warnings for the next { $days } days (the schedule is valid; see them with loaxa plan --date …):
check-every-day = every day
status-restart-needed = RESTART   { $at } { $what } changed: in effect only after a restart (systemctl restart loaxa)

## station.toml errors (the installer's)
st-language = unknown language { $text }
st-language-help = write language = "vi" (tiếng Việt, the default) or "en" (English)
st-station-id = station_id { $id } is not a valid id
st-station-id-help = use lowercase ASCII letters, digits and dashes, e.g. "hn-ba-vi-tan-linh"
st-output = unknown audio output { $output }
st-output-help = use one of: default, alsa:<pcm>, pulse, pulse:<sink>, wav:<path>, null (`loaxa devices` lists them)
st-volume = volume { $value } is out of range
st-volume-help = use a number from 0.0 (silent) to 1.0 (full)
st-loudness = loudness_target { $value } LUFS is out of range
st-loudness-help = broadcast speech is usually -23 to -14 LUFS; -16.0 suits loudspeakers
st-trim = trim_silence_below { $value } dBFS is out of range
st-trim-help = use -70.0 to -30.0 (measured in 5 dB steps); -50.0 suits speech
st-max-duration = max_duration must be between 10s and 24h
st-max-duration-help = the default is "4h"; a bulletin or a relay recording is minutes to hours
st-quiet-hours = quiet_hours: { $why }
st-quiet-hours-help = write a range of hours, e.g. "22:00-05:00" (or "22h-5h")
st-feed-url = feed url { $url } is not an http(s) URL
st-feed-url-help = write the full address, e.g. "https://tinh.example/loaxa/feed.json"
st-public-key = this is not a minisign public key ({ $why })
st-public-key-help = copy the second line of the province's .pub file: 56 characters starting with "RW"
st-poll = feed poll interval is shorter than 5s
st-poll-help = poll every 60s or so; the feed uses conditional requests
st-max-bytes = max_bulletin_bytes must be a positive number of bytes
st-max-bytes-help = e.g. 52428800 for 50 MiB
st-no-keys = [feed] has a url but no public_keys: nothing from it could ever be trusted
st-no-keys-help = add the province's minisign public key: public_keys = ["RW…"]
st-chime = { $key } file not found: { $path }
st-chime-help = put the file there or fix the path (relative paths start at the config dir)
st-listen = { $text } is not an address to listen on
st-listen-help = write IP:port, e.g. "127.0.0.1:8470"
st-token = [api] token must be 16 to 256 printable ASCII characters
st-token-help = make one with e.g. `openssl rand -hex 24`
st-tts = the text-to-speech command must name the WAV it writes as {"{"}out{"}"}
st-tts-help = e.g. ["espeak-ng", "-v", "vi", "-w", "{"{"}out{"}"}", "--stdin"] (the text goes to standard input, or where {"{"}text{"}"} is)
st-areas = areas lists more than { $max } codes
st-area = area { $text } is not an area code
st-area-help = write a geocode as the province's CAP alerts do, NAME=VALUE, e.g. "VN-ADM=31"
st-amp-empty = amplifier `{ $key }` command is empty
st-amp-empty-help = give the program and its arguments, e.g. ["/usr/local/bin/relay", "on"]

## loaxa fleet (the province's)
fleet-col-station = STATION
fleet-col-online = ONLINE
fleet-col-last-seen = LAST SEEN
fleet-col-on-air = ON AIR
fleet-col-feed = FEED
fleet-col-quotas = QUOTAS / LAST ERROR
fleet-col-outcome = OUTCOME
fleet-col-latency = LATENCY
fleet-col-reason = REASON
fleet-yes = yes
fleet-no = no
fleet-total = { $count ->
    [one] { $count } station
   *[other] { $count } stations
}, { $online } online
fleet-push = push { $id }
fleet-silent = SILENT
fleet-not-expected = { " " }(not expected)
fleet-accepted = { $accepted } of { $expected } expected station(s) accepted
fleet-none-expected = error: no station was expected to answer (none online)
fleet-nudged = every station was told to poll the feed now
