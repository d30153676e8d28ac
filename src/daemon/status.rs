//! The daemon's status (`status.json`, `GET /api/v1/status`): the engine's snapshot with
//! what only the daemon knows — the relay as it reports, the feed, trust problems.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::core::engine::Snapshot;
use crate::core::status::{FeedSummary, Status};
use crate::store::trust::Trust;

/// `None` before the engine has planned a day.
pub fn build(
    config: &Config,
    snapshot: Snapshot,
    now: DateTime<Tz>,
    amplifier_on: bool,
    trust: &Trust,
    utc_now: DateTime<Utc>,
) -> Option<Status> {
    // Held by a wrong clock at start there is no plan yet; the status must still say why.
    let plan_date = match (snapshot.plan_date, snapshot.clock_held) {
        (Some(d), _) => d,
        (None, Some(_)) => now.date_naive(),
        (None, None) => return None,
    };
    let mut problems = problems(snapshot.catalog_problems, trust, utc_now);
    if let Some(until) = snapshot.clock_held {
        problems.push(format!(
            "the clock is not believed (it went back, or shows a time before loaxa existed): nothing but an emergency plays until it reaches {}",
            until.to_rfc3339()
        ));
    }
    Some(Status {
        updated: now,
        pid: std::process::id(),
        station_id: config.station.station_id.clone(),
        timezone: config.schedule.timezone.name().to_string(),
        plan_date,
        session: snapshot.session,
        emergency: snapshot.emergency,
        emergencies_waiting: snapshot.emergencies_waiting,
        amplifier_on,
        output: config.station.audio.output.to_string(),
        output_ok: snapshot.output_ok,
        now_playing: snapshot.now_playing,
        now_started: snapshot.now_started,
        feed: feed_summary(config, snapshot.feed_sequence, snapshot.feed_bulletins),
        next: snapshot.next,
        quotas: snapshot.quotas,
        warnings: snapshot.warnings,
        problems,
        clock_held: snapshot.clock_held.is_some(),
        // Known to the daemon's other parts; the API adds them.
        last_reload: None,
        last_refusal: None,
        silence: None,
    })
}

fn feed_summary(config: &Config, sequence: Option<u64>, bulletins: usize) -> Option<FeedSummary> {
    let url = config.station.feed.url.clone()?;
    Some(FeedSummary {
        url,
        sequence,
        bulletins,
        // The feed follower's, which the API's snapshot adds.
        last_success: None,
        last_error: None,
    })
}

/// What keeps the station from taking in anything new, or makes its clock suspect.
fn problems(mut out: Vec<String>, trust: &Trust, now: DateTime<Utc>) -> Vec<String> {
    out.extend(trust.problem().map(str::to_string));
    if let Some(behind) = trust.clock_behind(now) {
        out.push(format!(
            "the clock is {} behind the newest trusted time ({}): expiry is judged by the trusted time until the clock is right",
            crate::core::units::format_duration(behind),
            trust
                .marks()
                .trusted_time
                .map_or(String::new(), |t| t.to_rfc3339())
        ));
    }
    out
}
