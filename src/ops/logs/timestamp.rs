//! The times log lines carry: RFC 3339, `2006-01-02 15:04:05[.fff]`, epoch numbers, or syslog's.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A syslog line's time: RFC 5424 (`<34>1 2026-11-30T10:28:00.003Z host ...`: its RFC 3339
/// time) or RFC 3164 (`<34>Nov 30 10:28:00 host ...`, the `<PRI>` optional). An RFC 3164 time
/// has no year and no zone: it is taken as UTC, in the year of `written_ns` (when the file was
/// last written), or the year before when that would put it more than a day after.
pub fn syslog(text: &str, written_ns: i64) -> Option<(i64, usize)> {
    let mut at = 0;
    if let Some(rest) = text.strip_prefix('<') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=3).contains(&digits) || rest.as_bytes().get(digits) != Some(&b'>') {
            return None;
        }
        at = digits + 2;
        if let Some(after) = text[at..].strip_prefix("1 ") {
            let (ns, used) = leading(after)?;
            return Some((ns, at + 2 + used));
        }
    }
    let rest = &text[at..];
    let month = MONTHS.iter().position(|m| rest.starts_with(m))? as u32 + 1;
    let mut cursor = Cursor {
        bytes: rest.as_bytes(),
        at: 3,
    };
    cursor.expect(b' ')?;
    if cursor.peek() == Some(b' ') {
        cursor.at += 1;
    }
    let day_start = cursor.at;
    while cursor.peek().is_some_and(|b| b.is_ascii_digit()) && cursor.at - day_start < 2 {
        cursor.at += 1;
    }
    let day: u32 = rest.get(day_start..cursor.at)?.parse().ok()?;
    cursor.expect(b' ')?;
    let hour = cursor.digits(2)?;
    cursor.expect(b':')?;
    let minute = cursor.digits(2)?;
    cursor.expect(b':')?;
    let second = cursor.digits(2)?;
    if cursor.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let written = chrono::DateTime::from_timestamp_nanos(written_ns);
    let in_year = |year: i32| {
        let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, minute, second)?;
        Utc.from_utc_datetime(&naive).timestamp_nanos_opt()
    };
    const DAY_NS: i64 = 86_400 * 1_000_000_000;
    let ns = match in_year(written.year()) {
        Some(ns) if ns <= written_ns.saturating_add(DAY_NS) => ns,
        // December's lines in a file written in January; or 29 February of another year.
        _ => in_year(written.year() - 1)?,
    };
    Some((ns, at + cursor.at))
}

/// Reads a timestamp at the start of `text`: `2026-11-30T10:28:00Z`,
/// `2026-11-30T10:28:00.123+01:00` (RFC 3339: with `T`, the zone is required), or
/// `2006-01-02 15:04:05` with an optional fraction and an optional zone; without a zone the time
/// is taken as UTC. Returns the time in nanoseconds since the epoch and the bytes it took; the
/// timestamp must be followed by the end of the text or a character that is not a letter or
/// digit.
pub fn leading(text: &str) -> Option<(i64, usize)> {
    let mut at = Cursor {
        bytes: text.as_bytes(),
        at: 0,
    };
    let year = at.digits(4)?;
    at.expect(b'-')?;
    let month = at.digits(2)?;
    at.expect(b'-')?;
    let day = at.digits(2)?;
    let with_t = match at.next()? {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = at.digits(2)?;
    at.expect(b':')?;
    let minute = at.digits(2)?;
    at.expect(b':')?;
    let second = at.digits(2)?;
    let mut nanos = 0u32;
    if at.peek() == Some(b'.') {
        at.at += 1;
        let start = at.at;
        while at.peek().is_some_and(|b| b.is_ascii_digit()) {
            at.at += 1;
        }
        let fraction = &at.bytes[start..at.at];
        if fraction.is_empty() {
            return None;
        }
        // Digits past nanoseconds are dropped, as Go's time parsing does.
        for i in 0..9 {
            nanos = nanos * 10 + fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
        }
    }
    let offset_seconds = match at.peek() {
        Some(b'Z' | b'z') => {
            at.at += 1;
            Some(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            at.at += 1;
            let hours = at.digits(2)?;
            at.expect(b':')?;
            let minutes = at.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            Some(if sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    };
    if with_t && offset_seconds.is_none() {
        return None;
    }
    if at.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let naive: NaiveDateTime = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    let zone = FixedOffset::east_opt(offset_seconds.unwrap_or(0))?;
    let time = zone.from_local_datetime(&naive).single()?;
    let ns = time.with_timezone(&Utc).timestamp_nanos_opt()?;
    Some((ns, at.at))
}

/// A whole field value as a time: a timestamp `leading` reads, or an epoch number.
pub fn field(text: &str) -> Option<i64> {
    let text = text.trim();
    match leading(text) {
        Some((ns, used)) if used == text.len() => Some(ns),
        _ => epoch(text),
    }
}

/// An epoch number, its unit told by its magnitude (of the whole part): below 1e11 seconds (up
/// to the year 5138), below 1e14 milliseconds, below 1e17 microseconds, otherwise nanoseconds.
/// A fraction is kept to the nanosecond.
pub fn epoch(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        // Exponent forms (`1.7e9`), as JSON allows: exact enough to the microsecond.
        let value: f64 = text.parse().ok()?;
        if !value.is_finite() {
            return None;
        }
        let magnitude = value.abs().trunc();
        let ns = value * 10f64.powi(9 - unit_digits(magnitude as u128) as i32);
        return (ns.abs() < i64::MAX as f64).then_some(ns.round() as i64);
    }
    let whole: u128 = whole.parse().ok()?;
    let shift = 9 - unit_digits(whole);
    let mut ns = whole.checked_mul(10u128.pow(shift))?;
    let scale = 10u128.pow(shift);
    let mut place = scale / 10;
    for digit in fraction.bytes() {
        if place == 0 {
            break;
        }
        ns += u128::from(digit - b'0') * place;
        place /= 10;
    }
    let ns = i64::try_from(ns).ok()?;
    Some(if negative { -ns } else { ns })
}

/// How many decimal digits of a second the unit of an epoch number of this size has.
fn unit_digits(whole: u128) -> u32 {
    match whole {
        0..100_000_000_000 => 0,
        100_000_000_000..100_000_000_000_000 => 3,
        100_000_000_000_000..100_000_000_000_000_000 => 6,
        _ => 9,
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn digits(&mut self, count: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.next()?;
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(byte - b'0');
        }
        Some(value)
    }
}
