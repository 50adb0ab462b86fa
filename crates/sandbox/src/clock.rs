//! The sandbox's time source, and RFC 3339 timestamps without a date crate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the server reads the time: the system clock, or a manual clock that tests set
/// and move, so expiry and rate windows can be checked without sleeping.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock that stands still at `unix_ms` until moved.
    pub fn manual(unix_ms: u64) -> Clock {
        Clock::Manual(Arc::new(AtomicU64::new(unix_ms)))
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    /// Whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Moves a manual clock forward and says where it is now; the system clock
    /// cannot be moved (`None`).
    pub fn advance_ms(&self, ms: u64) -> Option<u64> {
        match self {
            Clock::Manual(now) => {
                let before = now
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                        Some(t.saturating_add(ms))
                    })
                    .unwrap_or_else(|t| t);
                Some(before.saturating_add(ms))
            }
            Clock::System => None,
        }
    }
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_704_067_200, "2024-01-01T00:00:00Z"),
            (1_704_067_200 + 3600 * 25 + 61, "2024-01-02T01:01:01Z"),
            (1_709_164_800, "2024-02-29T00:00:00Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(secs), want, "{secs}");
        }
    }

    #[test]
    fn agrees_with_httpdate_on_the_date() {
        // httpdate prints "Mon, 01 Jan 2024 00:00:00 GMT"; compare day, month and year.
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        for secs in (0..4_000_000_000u64).step_by(7_654_321) {
            let http = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
            let parts: Vec<&str> = http.split(' ').collect();
            let ours = rfc3339(secs);
            let month = MONTHS.iter().position(|m| *m == parts[2]).unwrap() + 1;
            let want = format!("{}-{month:02}-{}T{}Z", parts[3], parts[1], parts[4]);
            assert_eq!(ours, want);
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual(5_000);
        assert_eq!(clock.now_secs(), 5);
        assert_eq!(clock.advance_ms(1_500), Some(6_500));
        assert_eq!(clock.now_ms(), 6_500);
        assert_eq!(clock.advance_ms(u64::MAX), Some(u64::MAX));
        assert_eq!(Clock::System.advance_ms(1), None);
    }
}
