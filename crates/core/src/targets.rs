//! Who a bulletin is for (SPEC §7 `targets`, §14): a station plays a feed or pushed
//! bulletin whose `targets` are empty, name its `station_id`, or name one of its areas
//! (`"area:<code>"`, matched against station.toml's `areas`, e.g. a CAP alert's geocode
//! `"area:VN-ADM=31"`); and a bulletin marked `"test": true` (a CAP Test or Exercise)
//! only when the station is in `test_mode`.
//!
//! A station that lists no `areas` cannot tell where it is, so it takes every
//! area-targeted bulletin: a warning heard one commune too far is better than a commune
//! left silent because its installer skipped a line.

/// Target entries that name an area start with this.
pub const AREA: &str = "area:";

/// This station, as targets see it.
#[derive(Debug, Clone, Copy)]
pub struct Here<'a> {
    pub station_id: &'a str,
    /// Area codes the station belongs to (`"VN-ADM=31"`, …), without the `area:` prefix.
    pub areas: &'a [String],
    /// Plays test and exercise alerts.
    pub test_mode: bool,
}

impl Here<'_> {
    /// Whether `targets` include this station.
    pub fn named_in(&self, targets: &[String]) -> bool {
        targets.is_empty()
            || targets.iter().any(|t| {
                t == self.station_id
                    || t.strip_prefix(AREA)
                        .is_some_and(|a| self.areas.is_empty() || self.areas.iter().any(|x| x == a))
            })
    }

    /// Whether a bulletin with these targets, test or not, plays here.
    pub fn plays(&self, targets: &[String], test: bool) -> bool {
        self.named_in(targets) && (!test || self.test_mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_is_named_by_id_or_by_one_of_its_areas() {
        let areas = vec!["VN-ADM=31".to_string(), "VN-ADM=31.303".to_string()];
        let here = Here {
            station_id: "hp-tien-lang",
            areas: &areas,
            test_mode: false,
        };
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(here.named_in(&[]));
        assert!(here.named_in(&t(&["other", "hp-tien-lang"])));
        assert!(here.named_in(&t(&["area:VN-ADM=31.303"])));
        assert!(!here.named_in(&t(&["area:VN-ADM=01"])));
        // An area code is only an area with its prefix; a station id is not an area.
        assert!(!here.named_in(&t(&["VN-ADM=31"])));
        assert!(!here.named_in(&t(&["area:hp-tien-lang"])));
        assert!(here.plays(&[], false));
        assert!(!here.plays(&[], true), "a test alert needs test_mode");
        let drill = Here {
            test_mode: true,
            ..here
        };
        assert!(drill.plays(&t(&["area:VN-ADM=31"]), true));
        assert!(!drill.plays(&t(&["area:VN-ADM=01"]), true));
        // Listing no areas: every area's warnings, but still only its own id's.
        let nowhere = Here { areas: &[], ..here };
        assert!(nowhere.named_in(&t(&["area:VN-ADM=01"])));
        assert!(!nowhere.named_in(&t(&["other-station"])));
    }
}
