//! The Vietnamese lunar calendar (âm lịch), for special days given as `âl:MM-DD`.
//!
//! Months begin on the day of the new moon and the winter solstice falls in month 11,
//! both reckoned in Vietnam's time zone (UTC+7). That is what makes it differ from the
//! Chinese calendar (UTC+8) in some years: Tết 1985 was 21 January in Vietnam and
//! 20 February in China, Tết 2007 17 February here and 18 February there, and Tết 2030
//! falls on 2 February here and 3 February there.
//!
//! This is Hồ Ngọc Đức's well-known method (new moons and the sun's longitude from the
//! series in Meeus' *Astronomical Algorithms*), which Vietnamese calendars are printed
//! from. Written here rather than taken from a crate: the crates that exist (`amlich`
//! 0.0.1, a 2019 terminal app; `amlich-core`, new in 2026 and 1.2 MB) are not ones we
//! would want every station to trust, and the method is 100 lines of arithmetic checked
//! against published Tết dates in the tests.

use chrono::{Datelike, NaiveDate};

/// Vietnam's time zone, in hours east of UTC.
const TZ: f64 = 7.0;
const SYNODIC_MONTH: f64 = 29.530588853;
/// Julian day number of the new moon of 1900-01-01, the series' origin.
const NEW_MOON_EPOCH: f64 = 2415021.076998695;

/// A day of the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LunarDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    /// A leap month (tháng nhuận) repeats the month before it.
    pub leap: bool,
}

/// The lunar date of a solar (Gregorian) date, in Vietnam.
pub fn lunar_of(date: NaiveDate) -> LunarDate {
    let day_number = julian_day(date);
    let k = ((day_number as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let mut month_start = new_moon_day(k + 1);
    if month_start > day_number {
        month_start = new_moon_day(k);
    }
    let yy = date.year();
    let mut a11 = lunar_month_11(yy);
    let mut b11 = a11;
    let mut lunar_year;
    if a11 >= month_start {
        lunar_year = yy;
        a11 = lunar_month_11(yy - 1);
    } else {
        lunar_year = yy + 1;
        b11 = lunar_month_11(yy + 1);
    }
    let day = (day_number - month_start + 1) as u32;
    let diff = ((month_start - a11) / 29) as i32;
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_diff = leap_month_offset(a11) as i32;
        if diff >= leap_diff {
            month = diff + 10;
            leap = diff == leap_diff;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        lunar_year -= 1;
    }
    LunarDate {
        year: lunar_year,
        month: month as u32,
        day,
        leap,
    }
}

/// The solar date of lunar `day`/`month` (not a leap month) in lunar `year`, if that
/// month has that day.
pub fn solar_of(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
        return None;
    }
    let (a11, b11) = if month < 11 {
        (lunar_month_11(year - 1), lunar_month_11(year))
    } else {
        (lunar_month_11(year), lunar_month_11(year + 1))
    };
    let k = (0.5 + (a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let mut off = month as i64 - 11;
    if off < 0 {
        off += 12;
    }
    if b11 - a11 > 365 && off >= leap_month_offset(a11) {
        off += 1;
    }
    let month_start = new_moon_day(k + off);
    let next_start = new_moon_day(k + off + 1);
    let jd = month_start + i64::from(day) - 1;
    (jd < next_start).then(|| from_julian_day(jd)).flatten()
}

fn julian_day(date: NaiveDate) -> i64 {
    // Days from 0001-01-01 (CE day 1) to the Julian day number: 1721425.
    i64::from(date.num_days_from_ce()) + 1_721_425
}

fn from_julian_day(jd: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(jd - 1_721_425).ok()?)
}

/// Julian day (fractional, UT) of the `k`-th new moon after 1900-01-01.
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3) = (t * t, t * t * t);
    let dr = std::f64::consts::PI / 180.0;
    let sin = |deg: f64| (deg * dr).sin();
    let mut jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
    jd1 += 0.00033 * sin(166.56 + 132.87 * t - 0.009173 * t2);
    let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
    let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
    let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
    let mut c1 = (0.1734 - 0.000393 * t) * sin(m) + 0.0021 * sin(2.0 * m);
    c1 = c1 - 0.4068 * sin(mpr) + 0.0161 * sin(2.0 * mpr);
    c1 -= 0.0004 * sin(3.0 * mpr);
    c1 = c1 + 0.0104 * sin(2.0 * f) - 0.0051 * sin(m + mpr);
    c1 = c1 - 0.0074 * sin(m - mpr) + 0.0004 * sin(2.0 * f + m);
    c1 = c1 - 0.0004 * sin(2.0 * f - m) - 0.0006 * sin(2.0 * f + mpr);
    c1 = c1 + 0.0010 * sin(2.0 * f - mpr) + 0.0005 * sin(2.0 * mpr + m);
    let delta_t = if t < -11.0 {
        0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    } else {
        -0.000278 + 0.000265 * t + 0.000262 * t2
    };
    jd1 + c1 - delta_t
}

/// The local day (Julian day number) of the `k`-th new moon.
fn new_moon_day(k: i64) -> i64 {
    (new_moon(k) + 0.5 + TZ / 24.0).floor() as i64
}

/// Which twelfth of the ecliptic (0–11, from the March equinox) the sun is in at the
/// start of local day `day_number`.
fn sun_sector(day_number: i64) -> i64 {
    let jdn = day_number as f64 - 0.5 - TZ / 24.0;
    let t = (jdn - 2451545.0) / 36525.0;
    let t2 = t * t;
    let dr = std::f64::consts::PI / 180.0;
    let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    let mut dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * (dr * m).sin();
    dl += (0.019993 - 0.000101 * t) * (dr * 2.0 * m).sin() + 0.000290 * (dr * 3.0 * m).sin();
    let tau = std::f64::consts::TAU;
    let l = ((l0 + dl) * dr).rem_euclid(tau);
    (l / std::f64::consts::PI * 6.0).floor() as i64
}

/// The first day of the lunar month holding the winter solstice of solar year `yy`.
fn lunar_month_11(yy: i32) -> i64 {
    let Some(dec31) = NaiveDate::from_ymd_opt(yy, 12, 31) else {
        return 0;
    };
    let off = julian_day(dec31) as f64 - 2415021.0;
    let k = (off / SYNODIC_MONTH).floor() as i64;
    let nm = new_moon_day(k);
    if sun_sector(nm) >= 9 {
        new_moon_day(k - 1)
    } else {
        nm
    }
}

/// Months after month 11 (starting at `a11`) until the leap month: the first month in
/// which the sun enters no new sector.
fn leap_month_offset(a11: i64) -> i64 {
    let k = ((a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5).floor() as i64;
    let mut i = 1;
    let mut arc = sun_sector(new_moon_day(k + i));
    loop {
        let last = arc;
        i += 1;
        arc = sun_sector(new_moon_day(k + i));
        if arc == last || i >= 14 {
            break;
        }
    }
    i - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Mùng 1 Tết, as published in Vietnamese calendars, 1990–2050.
    const TET: [(i32, u32, u32); 61] = [
        (1990, 1, 27),
        (1991, 2, 15),
        (1992, 2, 4),
        (1993, 1, 23),
        (1994, 2, 10),
        (1995, 1, 31),
        (1996, 2, 19),
        (1997, 2, 7),
        (1998, 1, 28),
        (1999, 2, 16),
        (2000, 2, 5),
        (2001, 1, 24),
        (2002, 2, 12),
        (2003, 2, 1),
        (2004, 1, 22),
        (2005, 2, 9),
        (2006, 1, 29),
        (2007, 2, 17), // China: 18 February
        (2008, 2, 7),
        (2009, 1, 26),
        (2010, 2, 14),
        (2011, 2, 3),
        (2012, 1, 23),
        (2013, 2, 10),
        (2014, 1, 31),
        (2015, 2, 19),
        (2016, 2, 8),
        (2017, 1, 28),
        (2018, 2, 16),
        (2019, 2, 5),
        (2020, 1, 25),
        (2021, 2, 12),
        (2022, 2, 1),
        (2023, 1, 22),
        (2024, 2, 10),
        (2025, 1, 29),
        (2026, 2, 17),
        (2027, 2, 6),
        (2028, 1, 26),
        (2029, 2, 13),
        (2030, 2, 2), // China: 3 February
        (2031, 1, 23),
        (2032, 2, 11),
        (2033, 1, 31),
        (2034, 2, 19),
        (2035, 2, 8),
        (2036, 1, 28),
        (2037, 2, 15),
        (2038, 2, 4),
        (2039, 1, 24),
        (2040, 2, 12),
        (2041, 2, 1),
        (2042, 1, 22),
        (2043, 2, 10),
        (2044, 1, 30),
        (2045, 2, 17),
        (2046, 2, 6),
        (2047, 1, 26),
        (2048, 2, 14),
        (2049, 2, 2),
        (2050, 1, 23),
    ];

    #[test]
    fn tet_matches_the_published_dates_1990_to_2050() {
        let mut wrong = Vec::new();
        for (y, m, day) in TET {
            let tet = d(y, m, day);
            let l = lunar_of(tet);
            let eve = lunar_of(tet.pred_opt().unwrap());
            if (l.year, l.month, l.day, l.leap) != (y, 1, 1, false) || eve.month != 12 {
                wrong.push(format!("{tet}: {l:?}, eve {eve:?}"));
            }
            if solar_of(y, 1, 1) != Some(tet) {
                wrong.push(format!("{y}: solar_of(1/1) = {:?}", solar_of(y, 1, 1)));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn vietnam_and_china_differ_in_1985_2007_and_2030() {
        assert_eq!(solar_of(1985, 1, 1), Some(d(1985, 1, 21)));
        assert_eq!(lunar_of(d(2007, 2, 18)).day, 2);
        assert_eq!(lunar_of(d(2030, 2, 3)).day, 2);
    }

    #[test]
    fn other_festivals_and_leap_months() {
        // Giỗ Tổ Hùng Vương, 10/3: a public holiday, published each year.
        assert_eq!(solar_of(2024, 3, 10), Some(d(2024, 4, 18)));
        assert_eq!(solar_of(2025, 3, 10), Some(d(2025, 4, 7)));
        // Rằm tháng Giêng 2025 (15/1).
        assert_eq!(solar_of(2025, 1, 15), Some(d(2025, 2, 12)));
        // 2023 had a leap second month (tháng 2 nhuận) from 22 March.
        let l = lunar_of(d(2023, 3, 22));
        assert_eq!((l.month, l.day, l.leap), (2, 1, true));
        // 2025 had a leap sixth month from 25 July.
        let l = lunar_of(d(2025, 7, 25));
        assert_eq!((l.month, l.day, l.leap), (6, 1, true));
        // A day 30 that the month does not have.
        let short = (1..=12).find(|m| solar_of(2025, *m, 30).is_none());
        assert!(short.is_some(), "some month of 2025 has 29 days");
    }

    #[test]
    fn every_day_round_trips_for_a_century() {
        let mut day = d(1990, 1, 1);
        while day < d(2051, 1, 1) {
            let l = lunar_of(day);
            assert!(
                (1..=30).contains(&l.day) && (1..=12).contains(&l.month),
                "{day}: {l:?}"
            );
            if !l.leap {
                assert_eq!(solar_of(l.year, l.month, l.day), Some(day), "{day}: {l:?}");
            }
            day = day.succ_opt().unwrap();
        }
    }
}
