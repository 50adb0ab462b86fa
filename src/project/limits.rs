//! What runner accepts from a user, written down in one place: the range of every
//! number (files, command line, sandbox options) and the most it reads of every kind of
//! file. Uses nothing above it: callers turn its messages into located errors.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The numbers a user may give, and what each may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    /// Only whole numbers (counts, bytes, milliseconds).
    pub whole: bool,
    /// What the number counts, as the messages say it ("seconds"); empty for a count.
    pub unit: &'static str,
}

/// Seconds per request: `timeout`, `http.timeout`, `--timeout`. From a millisecond
/// (less would round to no time at all) to a day.
pub const TIMEOUT_SECS: Range = Range::decimal(0.001, 86_400.0, "seconds");
/// `retries`, `http.retries`, `--retries`.
pub const RETRIES: Range = Range::whole(0, 100, "");
/// `expect.duration`, in milliseconds: up to a day.
pub const DURATION_MS: Range = Range::whole(1, 86_400_000, "ms");
/// `paginate.max_pages`.
pub const MAX_PAGES: Range = Range::whole(1, 1_000_000, "");
/// `paginate.limit`: items per page.
pub const PAGE_LIMIT: Range = Range::whole(1, 1_000_000, "");
/// `http.max_body`, in bytes: up to 1 TiB.
pub const MAX_BODY: Range = Range::whole(1, 1 << 40, "bytes");
/// `http.max_redirects`.
pub const MAX_REDIRECTS: Range = Range::whole(0, 100, "");
/// `--concurrency`.
pub const CONCURRENCY: Range = Range::whole(1, 1024, "");
/// `runner sandbox --access-ttl` and `--refresh-ttl`: up to a year.
pub const TOKEN_TTL_SECS: Range = Range::whole(1, 365 * 24 * 3600, "seconds");
/// `runner sandbox --latency`: up to a minute.
pub const LATENCY_MS: Range = Range::whole(0, 60_000, "milliseconds");
/// `runner sandbox --assets`.
pub const ASSETS: Range = Range::whole(0, 1_000_000, "");
/// `runner sandbox --fail-rate`: a fraction.
pub const FAIL_RATE: Range = Range::decimal(0.0, 1.0, "");
/// `auth.redirect_port` (0: a free port).
pub const PORT: Range = Range::whole(0, 65_535, "");
/// `auth.login_timeout`: up to a day.
pub const LOGIN_TIMEOUT_SECS: Range = Range::whole(1, 86_400, "seconds");
/// `runner sandbox --rate-limit`, requests per second.
pub const RATE_LIMIT: Range = Range::whole(1, 1_000_000, "");
/// `runner sandbox --fail-first`, and `count` of `POST /_sandbox/fail`.
pub const FAIL_FIRST: Range = Range::whole(0, 1_000_000, "");

impl Range {
    const fn whole(min: u64, max: u64, unit: &'static str) -> Range {
        Range {
            // Every bound here is far below 2^53: the conversion is exact.
            min: min as f64,
            max: max as f64,
            whole: true,
            unit,
        }
    }

    const fn decimal(min: f64, max: f64, unit: &'static str) -> Range {
        Range {
            min,
            max,
            whole: false,
            unit,
        }
    }

    /// What the range allows, e.g. "a whole number from 0 to 100".
    pub fn allowed(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        let kind = if self.whole {
            "a whole number"
        } else {
            "a number"
        };
        format!("{kind} from {} to {}{unit}", self.min, self.max)
    }

    /// `value` when it is in range; else the sentence that says what is allowed.
    pub fn check(&self, value: f64) -> Result<f64, String> {
        // NaN fails both comparisons; infinities fail one.
        if value >= self.min && value <= self.max && (!self.whole || value.fract() == 0.0) {
            Ok(value)
        } else {
            Err(format!("must be {}", self.allowed()))
        }
    }

    /// `value` as a whole number, when it is one and in range.
    pub fn count(&self, value: f64) -> Result<u64, String> {
        let v = self.check(value)?;
        if v.fract() != 0.0 {
            return Err(format!("must be {}", self.allowed()));
        }
        // Whole, finite, non-negative and at most 2^40: exactly representable.
        Ok(v as u64)
    }

    /// `value` as a whole number that fits `T` (every whole range here fits a u32).
    pub fn count_as<T: TryFrom<u64>>(&self, value: f64) -> Result<T, String> {
        T::try_from(self.count(value)?).map_err(|_| format!("must be {}", self.allowed()))
    }

    /// `value` seconds as a duration, when in range.
    pub fn duration(&self, value: f64) -> Result<Duration, String> {
        let v = self.check(value)?;
        Duration::try_from_secs_f64(v).map_err(|_| format!("must be {}", self.allowed()))
    }

    /// Parses a command-line value: a number, then the range.
    pub fn parse(&self, text: &str) -> Result<f64, String> {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("expected {}", self.allowed()))?;
        self.check(value)
    }
}

/// A kind of file runner holds whole, and the most it reads of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit {
    pub bytes: u64,
    /// The kind, plural, as the messages say it.
    pub kind: &'static str,
}

/// Request files, flows, profiles and `--vars` files: bigger ones are data, not
/// configuration.
pub const YAML_FILE: ReadLimit = ReadLimit {
    bytes: 16 * MIB,
    kind: "YAML files",
};
/// `--data` files.
pub const DATA_FILE: ReadLimit = ReadLimit {
    bytes: GIB,
    kind: "data files",
};
/// `body: {file: …}` and multipart files, which are held in memory to be sent.
pub const BODY_FILE: ReadLimit = ReadLimit {
    bytes: GIB,
    kind: "body files",
};
/// `file()` in templates.
pub const TEMPLATE_FILE: ReadLimit = ReadLimit {
    bytes: 64 * MIB,
    kind: "file()",
};
/// `--cacert` and `http.ca_cert`.
pub const CA_CERT_FILE: ReadLimit = ReadLimit {
    bytes: 16 * MIB,
    kind: "CA certificate files",
};

/// Why a file could not be read whole.
#[derive(Debug)]
pub enum ReadError {
    Directory,
    TooLarge(ReadLimit),
    Io(std::io::Error),
}

impl ReadError {
    /// The message, about `subject` ("data file", "body file x.bin").
    pub fn describe(&self, subject: &str) -> String {
        match self {
            ReadError::Directory => format!("{subject} is a directory, not a file"),
            ReadError::TooLarge(limit) => format!(
                "{subject} is larger than {}, the limit for {}",
                size(limit.bytes),
                limit.kind
            ),
            ReadError::Io(e) => format!("cannot read {subject}: {e}"),
        }
    }
}

/// Reads the file at `path` whole, at most `limit.bytes` of it. Pipes, devices and
/// `/dev/stdin` report no length, so the read itself is bounded: one byte more than
/// the limit is an error, however much more would have come.
pub fn read(path: &Path, limit: ReadLimit) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Directory);
    }
    let mut bytes = Vec::new();
    if meta.is_file() {
        if meta.len() > limit.bytes {
            return Err(ReadError::TooLarge(limit));
        }
        // At most the limit (checked above), so it fits in memory's address space.
        bytes.reserve(usize::try_from(meta.len()).unwrap_or(0));
    }
    file.take(limit.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit.bytes {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// `bytes` in the largest binary unit that divides it ("16 MiB"), else in bytes.
fn size(bytes: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_the_edges_and_say_what_they_allow() {
        for bad in [
            0.0,
            0.0009,
            1e-300,
            -1.0,
            86_400.5,
            1e308,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(
                TIMEOUT_SECS.check(bad),
                Err("must be a number from 0.001 to 86400 seconds".to_string()),
                "{bad}"
            );
        }
        assert_eq!(TIMEOUT_SECS.duration(0.25), Ok(Duration::from_millis(250)));
        assert_eq!(TIMEOUT_SECS.duration(0.001), Ok(Duration::from_millis(1)));
        assert_eq!(
            TIMEOUT_SECS.duration(86_400.0),
            Ok(Duration::from_secs(86_400))
        );
        for bad in [
            -1.0,
            1.5,
            101.0,
            4_294_967_295.0,
            18_446_744_073_709_551_616.0,
        ] {
            assert_eq!(
                RETRIES.count_as::<u32>(bad),
                Err("must be a whole number from 0 to 100".to_string()),
                "{bad}"
            );
        }
        assert_eq!(RETRIES.count_as::<u32>(100.0), Ok(100));
        assert_eq!(MAX_BODY.count(1_099_511_627_776.0), Ok(1 << 40));
        assert!(MAX_BODY.count(1_099_511_627_777.0).is_err());
        assert!(MAX_PAGES.count(0.0).is_err());
        assert_eq!(
            FAIL_RATE.parse("1.5"),
            Err("must be a number from 0 to 1".to_string())
        );
        assert_eq!(
            CONCURRENCY.parse("many"),
            Err("expected a whole number from 1 to 1024".to_string())
        );
        assert_eq!(LATENCY_MS.parse(" 60000 "), Ok(60_000.0));
        assert_eq!(size(16 * MIB), "16 MiB");
        assert_eq!(size(GIB), "1 GiB");
        assert_eq!(size(1000), "1000 bytes");
    }

    #[test]
    fn reads_stop_one_byte_past_the_limit_even_without_a_length() {
        let limit = ReadLimit {
            bytes: 1000,
            kind: "tests",
        };
        let e = read(Path::new("/dev/zero"), limit).unwrap_err();
        assert_eq!(
            e.describe("file /dev/zero"),
            "file /dev/zero is larger than 1000 bytes, the limit for tests"
        );
        let dir = tempfile::tempdir().unwrap();
        let exact = dir.path().join("exact");
        std::fs::write(&exact, vec![b'x'; 1000]).unwrap();
        assert_eq!(read(&exact, limit).unwrap().len(), 1000);
        std::fs::write(&exact, vec![b'x'; 1001]).unwrap();
        assert!(matches!(read(&exact, limit), Err(ReadError::TooLarge(_))));
        assert!(matches!(read(dir.path(), limit), Err(ReadError::Directory)));
        assert!(matches!(
            read(&dir.path().join("none"), limit),
            Err(ReadError::Io(_))
        ));
    }
}
