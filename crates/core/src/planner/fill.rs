//! Filler music in the gaps of a session (rule 4), or a warning of silence without `[fill]`.

use chrono::{DateTime, TimeDelta};
use chrono_tz::Tz;

use super::{DayPlanner, MIN_FILL, Window};
use crate::plan::{Kind, PlanItem};
use crate::units::format_duration;

impl<'a> DayPlanner<'a> {
    /// Fills every gap of a second or more between `from` and `until` with filler music.
    pub(super) fn fill_gaps(
        &mut self,
        w: &Window<'a>,
        items: &mut Vec<PlanItem>,
        from: DateTime<Tz>,
        until: DateTime<Tz>,
    ) {
        let mut gaps = Vec::new();
        let mut pos = from;
        for item in items.iter() {
            if item.start - pos >= MIN_FILL {
                gaps.push((pos, item.start));
            }
            pos = pos.max(item.end);
        }
        if until - pos >= MIN_FILL {
            gaps.push((pos, until));
        }
        let Some(fill) = &self.input.schedule.fill else {
            for (a, b) in gaps
                .iter()
                .filter(|(a, b)| *b - *a >= TimeDelta::seconds(10) && *b < until)
            {
                self.warn_session(
                    w,
                    crate::plan::InSession::Silence {
                        length: format_duration(*b - *a),
                        from: a.format("%H:%M:%S").to_string(),
                    },
                );
            }
            return;
        };
        let mut filler = Vec::new();
        for (mut a, b) in gaps {
            while b - a >= MIN_FILL {
                let f = &fill.files[self.fill_next % fill.files.len()];
                self.fill_next += 1;
                let end = (a + f.duration).min(b);
                filler.push(PlanItem::from_media(Kind::Fill, f, None, a, end));
                a = end;
            }
        }
        items.extend(filler);
        items.sort_by_key(|i| i.start);
    }
}
