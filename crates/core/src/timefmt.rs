//! Times as the station shows them: RFC 3339 with the station's offset, milliseconds
//! only when not zero (`2021-10-01T05:30:00+07:00`, `2021-10-01T05:30:04.127+07:00`).

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serializer};

pub fn format<Z: TimeZone>(t: &DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

pub fn serialize<S: Serializer>(t: &DateTime<Tz>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

/// Reads an RFC 3339 time; the instant is kept, shown in UTC until re-zoned by the caller.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Tz>, D::Error> {
    let text = String::deserialize(d)?;
    let t: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)?;
    Ok(t.with_timezone(&Tz::UTC))
}

/// As-run times: always with milliseconds (`2021-10-01T05:30:00.000+07:00`), SPEC §9.
pub mod ms {
    use chrono::{DateTime, SecondsFormat};
    use chrono_tz::Tz;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Tz>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, false))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Tz>, D::Error> {
        super::deserialize(d)
    }
}

/// An optional time, as `format` writes it.
pub mod opt {
    use chrono::DateTime;
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Tz>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Tz>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super")] DateTime<Tz>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

/// An optional as-run time, always with milliseconds.
pub mod opt_ms {
    use chrono::DateTime;
    use chrono_tz::Tz;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Tz>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::ms::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Tz>>, D::Error> {
        super::opt::deserialize(d)
    }
}
