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
