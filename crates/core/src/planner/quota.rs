//! The end of a day's planning: the quota table (with where each play went), what could
//! not be placed, and the plan itself.

use super::DayPlanner;
use crate::plan::{Plan, PlannedSession, Quota, QuotaSession, SessionPlays, Warning};
use crate::units::format_duration;

impl DayPlanner<'_> {
    pub(super) fn finish(mut self, sessions: Vec<PlannedSession>) -> Plan {
        let mut quotas = Vec::new();
        for st in &self.campaigns {
            let c = st.campaign;
            let got = st.done + st.planned;
            if got < c.plays_per_day && !st.bulletins.is_empty() {
                self.warnings.push(Warning::QuotaShort {
                    campaign: c.id.clone(),
                    got,
                    required: c.plays_per_day,
                    sessions: c.sessions.clone(),
                    min_gap: format_duration(c.min_gap),
                });
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
                self.warnings.push(Warning::BulletinNoRoom {
                    bulletin: b.id.clone(),
                });
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
            warnings: self.warnings.iter().map(Warning::english).collect(),
            notes: self.warnings,
        }
    }
}
