//! The small text formats of the config files: durations (`1h30m`), clock times
//! (`05:30`) and day sets (`mon-fri`).

use chrono::{NaiveTime, TimeDelta, Weekday};

/// No duration in a config file or a manifest may be longer than this: every sum of
/// times the station makes stays far inside what a date can hold.
const MAX_DURATION_MS: i64 = 366 * 24 * 3_600_000;

/// Parses `30s`, `5m`, `1h30m`, `2h`, `1h5m30s`, `250ms`, and the same in Vietnamese words
/// (`45 phút`, `1 giờ 30 phút`, `30 giây`). A bare number is refused so that
/// `min_gap = "3"` cannot silently mean three seconds.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let help = "write a duration like \"30s\", \"5m\" or \"1h30m\"";
    let words = vietnamese_units(text);
    let s = words.trim();
    if s.is_empty() {
        return Err(format!("empty duration; {help}"));
    }
    let mut total_ms: i64 = 0;
    let mut digits = String::new();
    let mut chars = s.chars().peekable();
    let mut saw_unit = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_ms: i64 = match c {
            'h' => 3_600_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            's' => 1_000,
            _ => return Err(format!("{text:?} is not a duration; {help}")),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; {help}"))?;
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|v| v.checked_add(total_ms))
            .filter(|v| *v <= MAX_DURATION_MS)
            .ok_or_else(|| {
                format!("{text:?} is longer than a year; no duration here needs that")
            })?;
        digits.clear();
        saw_unit = true;
    }
    if !digits.is_empty() || !saw_unit {
        return Err(format!("{text:?} has a number without a unit; {help}"));
    }
    if total_ms > MAX_DURATION_MS {
        return Err(format!(
            "{text:?} is longer than a year; no duration here needs that"
        ));
    }
    Ok(TimeDelta::milliseconds(total_ms))
}

/// `1h30m`, `45s`, `2m5s` — the inverse of `parse_duration` for whole seconds.
pub fn format_duration(d: TimeDelta) -> String {
    let total = d.num_seconds().max(0);
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if s > 0 || out.is_empty() {
        out += &format!("{s}s");
    }
    out
}

/// `45 phút` → `45m`: the units as Vietnamese writes them, spaces dropped.
fn vietnamese_units(text: &str) -> String {
    let lower = text.trim().to_lowercase();
    let mut out = lower.clone();
    for (word, unit) in [("giây", "s"), ("phút", "m"), ("giờ", "h"), ("tiếng", "h")] {
        out = out.replace(word, unit);
    }
    if out == lower {
        return text.to_string();
    }
    out.split_whitespace().collect()
}

/// Parses `05:30` or `05:30:15` (24-hour clock), and `5h30` or `17h` as Vietnamese
/// often writes the time.
pub fn parse_clock(text: &str) -> Result<NaiveTime, String> {
    let t = text.trim();
    if let Some((h, m)) = t.split_once(['h', 'H'])
        && !h.is_empty()
        && h.len() <= 2
        && h.bytes().all(|b| b.is_ascii_digit())
        && (m.is_empty() || (m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit())))
    {
        let (h, m) = (h.parse().unwrap_or(99), m.parse().unwrap_or(0));
        if let Some(time) = NaiveTime::from_hms_opt(h, m, 0) {
            return Ok(time);
        }
    }
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text.trim(), "%H:%M:%S"))
        .map_err(|_| format!("{text:?} is not a time of day; write it as HH:MM, e.g. \"05:30\""))
}

/// A set of weekdays, Monday = bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(u8);

impl Days {
    pub const ALL: Days = Days(0x7f);
    /// `days = "none"`: a session that runs only when a special day names it.
    pub const NONE: Days = Days(0);

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn intersects(self, other: Days) -> bool {
        self.0 & other.0 != 0
    }
}

/// Parses `daily`, `mon-fri`, `mon,wed,fri`, `sat-sun`, `fri-mon` (wraps), or a mix.
pub fn parse_days(text: &str) -> Result<Days, String> {
    let help = "write \"daily\", a range like \"mon-fri\" or a list like \"mon,wed,fri\"";
    let s = text.trim().to_lowercase();
    if [
        "daily",
        "everyday",
        "hàng ngày",
        "hằng ngày",
        "mỗi ngày",
        "cả tuần",
    ]
    .contains(&s.as_str())
    {
        return Ok(Days::ALL);
    }
    if s == "none" {
        return Ok(Days::NONE);
    }
    let mut bits = 0u8;
    for part in s.split(',').map(str::trim) {
        let (from, to) = match part.split_once('-') {
            Some((a, b)) => (weekday(a.trim()), weekday(b.trim())),
            None => (weekday(part), weekday(part)),
        };
        let (Some(from), Some(to)) = (from, to) else {
            return Err(format!("{text:?}: {part:?} is not a day; {help}"));
        };
        let mut day = from;
        loop {
            bits |= 1 << day.num_days_from_monday();
            if day == to {
                break;
            }
            day = day.succ();
        }
    }
    Ok(Days(bits))
}

/// A day's name: English (`mon`, `monday`) or Vietnamese (`t2`…`t7`, `cn`, `thứ 2`,
/// `thứ hai`, `chủ nhật`).
fn weekday(name: &str) -> Option<Weekday> {
    let vi = name
        .strip_prefix("thứ")
        .or_else(|| name.strip_prefix("thu"))
        .or_else(|| name.strip_prefix('t'))
        .map(str::trim);
    if let Some(n) = vi {
        let day = match n {
            "2" | "hai" => Some(Weekday::Mon),
            "3" | "ba" => Some(Weekday::Tue),
            "4" | "tư" | "bốn" => Some(Weekday::Wed),
            "5" | "năm" => Some(Weekday::Thu),
            "6" | "sáu" => Some(Weekday::Fri),
            "7" | "bảy" => Some(Weekday::Sat),
            _ => None,
        };
        if day.is_some() {
            return day;
        }
    }
    if matches!(name, "cn" | "chủ nhật" | "chu nhat") {
        return Some(Weekday::Sun);
    }
    Some(match name {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// Whole frames in a span of time, rounded to the nearest.
pub fn frames_in(span: TimeDelta, rate: u32) -> u64 {
    let us = span.num_microseconds().unwrap_or(0).max(0) as u64;
    (us * u64::from(rate) + 500_000) / 1_000_000
}

/// How long `frames` last, to the nearest microsecond.
pub fn span_of(frames: u64, rate: u32) -> TimeDelta {
    TimeDelta::microseconds(((frames * 1_000_000 + u64::from(rate) / 2) / u64::from(rate)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(TimeDelta::seconds(30)));
        assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("250ms"), Ok(TimeDelta::milliseconds(250)));
        assert_eq!(parse_duration("1h5m30s"), Ok(TimeDelta::seconds(3930)));
        for bad in [
            "",
            "3",
            "3x",
            "h",
            "1h30",
            "-5m",
            "1.5h",
            "2000000000000h",
            "367d",
            "8785h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        // In Vietnamese words.
        assert_eq!(parse_duration("45 phút"), Ok(TimeDelta::minutes(45)));
        assert_eq!(parse_duration("1 giờ 30 phút"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("30 giây"), Ok(TimeDelta::seconds(30)));
        assert_eq!(parse_duration("2 tiếng"), Ok(TimeDelta::hours(2)));
        assert!(parse_duration("45 phut").is_err());
        assert_eq!(format_duration(TimeDelta::seconds(3930)), "1h5m30s");
        assert_eq!(format_duration(TimeDelta::zero()), "0s");
    }

    #[test]
    fn clock_times() {
        assert_eq!(
            parse_clock("05:30"),
            Ok(NaiveTime::from_hms_opt(5, 30, 0).unwrap())
        );
        assert!(parse_clock("25:00").is_err());
        // As Vietnamese writes the time: 5h30, 17h.
        let at = |h, m| Ok(NaiveTime::from_hms_opt(h, m, 0).unwrap());
        assert_eq!(parse_clock("5h30"), at(5, 30));
        assert_eq!(parse_clock("17h"), at(17, 0));
        assert_eq!(parse_clock("17H05"), at(17, 5));
        for bad in ["25h", "5h3", "h30", "5h300", "1h30m"] {
            assert!(parse_clock(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn day_sets() {
        let weekdays = parse_days("mon-fri").unwrap();
        assert!(weekdays.contains(Weekday::Fri) && !weekdays.contains(Weekday::Sat));
        let wrap = parse_days("fri-mon").unwrap();
        assert!(
            wrap.contains(Weekday::Sun)
                && wrap.contains(Weekday::Mon)
                && !wrap.contains(Weekday::Tue)
        );
        assert_eq!(parse_days("Daily"), Ok(Days::ALL));
        assert_eq!(
            parse_days("mon,wed,fri").unwrap(),
            parse_days("wed,fri,mon").unwrap()
        );
        assert!(parse_days("mon-funday").is_err());
        // As Vietnamese writes the days: thứ Hai is Monday, CN is Sunday.
        assert_eq!(parse_days("t2-t6"), Ok(weekdays));
        assert_eq!(parse_days("T2-T6"), Ok(weekdays));
        assert_eq!(parse_days("thứ 2-thứ 6"), Ok(weekdays));
        assert_eq!(parse_days("thứ hai - thứ sáu"), Ok(weekdays));
        assert_eq!(parse_days("t7,cn"), parse_days("sat,sun"));
        assert_eq!(parse_days("Chủ nhật"), parse_days("sun"));
        assert_eq!(parse_days("hàng ngày"), Ok(Days::ALL));
        // English still reads as English: "thu" is Thursday, "tue" Tuesday.
        assert_eq!(parse_days("thu"), parse_days("thursday"));
        assert_eq!(
            parse_days("tue,thu").unwrap(),
            parse_days("tuesday,thursday").unwrap()
        );
        assert!(parse_days("t8").is_err());
    }
}
