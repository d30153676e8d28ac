//! The end of a day's planning: the quota table (with where each play went), what could
//! not be placed, and the plan itself.

use super::DayPlanner;
use crate::plan::{Plan, PlannedSession, Quota, QuotaSession, SessionPlays};
use crate::units::format_duration;

impl DayPlanner<'_> {
    pub(super) fn finish(mut self, sessions: Vec<PlannedSession>) -> Plan {
        let mut quotas = Vec::new();
        for st in &self.campaigns {
            let c = st.campaign;
            let got = st.done + st.planned;
            if got < c.plays_per_day && !st.bulletins.is_empty() {
                let where_ = c.sessions.as_ref().map_or("any session".to_string(), |s| {
                    format!("sessions {}", s.join(", "))
                });
                self.warnings.push(format!(
                    "campaign {}: only {got} of {} plays fit today ({where_}, min_gap {}); {} dropped",
                    c.id,
                    c.plays_per_day,
                    format_duration(c.min_gap),
                    c.plays_per_day - got
                ));
            }
            quotas.push(Quota {
                campaign: c.id.clone(),
                required: c.plays_per_day,
                planned: st.planned,
                done: st.done,
                sessions: st
                    .placed
                    .iter()
                    .map(|(session, plays)| SessionPlays {
                        session: session.clone(),
                        plays: *plays,
                    })
                    .collect(),
            });
        }
        for (i, b) in self.standalone.iter().enumerate() {
            if !self.standalone_placed[i] {
                self.warnings.push(format!(
                    "bulletin {}: no room in today's sessions; it is dropped",
                    b.id
                ));
            }
        }
        let quota_sessions = quotas
            .iter()
            .flat_map(|q| {
                q.sessions.iter().map(|s| QuotaSession {
                    campaign: q.campaign.clone(),
                    session: s.session.clone(),
                    plays: s.plays,
                })
            })
            .collect();
        Plan {
            quota_sessions,
            date: self.input.date,
            station_id: self.input.station_id.to_string(),
            special: self.special.map(|s| s.name.clone()),
            sessions,
            quotas,
            warnings: self.warnings,
        }
    }
}
