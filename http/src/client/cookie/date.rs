//! The cookie date of RFC 6265 §5.1.1: `Expires` as servers really
//! write it (`Wed, 21 Oct 2015 07:28:00 GMT`, `Wednesday, 21-Oct-15
//! 07:28:00 GMT`, `Wed Oct 21 07:28:00 2015`...), read token by token in
//! the order the RFC gives, so any of the three HTTP date formats and
//! most of their misspellings parse.

use std::time::{Duration, SystemTime};

/// The instant `text` names, or `None` if it is not a cookie date.
pub(crate) fn parse(text: &str) -> Option<SystemTime> {
    let mut time = None;
    let mut day = None;
    let mut month = None;
    let mut year = None;
    for token in text.split(is_delimiter).filter(|t| !t.is_empty()) {
        if time.is_none()
            && let Some(t) = hms(token)
        {
            time = Some(t);
        } else if day.is_none()
            && let Some(d) = digits(token, 1, 2)
        {
            day = Some(d);
        } else if month.is_none()
            && let Some(m) = month_of(token)
        {
            month = Some(m);
        } else if year.is_none()
            && let Some(y) = digits(token, 2, 4)
        {
            year = Some(y);
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    // Two-digit years: 70-99 are 1970-1999, 00-69 are 2000-2069.
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if year < 1601 || hour > 23 || minute > 59 || second > 59 || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

/// `%x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E`.
fn is_delimiter(c: char) -> bool {
    matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~')
}

/// `min` to `max` digits, then anything that does not start with a digit.
fn digits(token: &str, min: usize, max: usize) -> Option<u32> {
    let n = token.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max).contains(&n).then(|| token[..n].parse().ok()).flatten()
}

/// `h:m:s` with one or two digits each, then anything not a digit.
fn hms(token: &str) -> Option<(u32, u32, u32)> {
    let mut parts = token.splitn(3, ':');
    let hour = parts.next()?;
    let minute = parts.next()?;
    let second = parts.next()?;
    let whole = |p: &str| {
        (p.len() <= 2 && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
    };
    Some((whole(hour)?, whole(minute)?, digits(second, 1, 2)?))
}

fn month_of(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let prefix = token.get(..3)?;
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(prefix)).map(|i| i as u32 + 1)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Option<i64> {
        parse(text).map(|t| match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        })
    }

    #[test]
    fn the_three_http_formats() {
        // 1445412480 is 2015-10-21T07:28:00Z.
        assert_eq!(unix("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1_445_412_480));
        assert_eq!(unix("Wednesday, 21-Oct-15 07:28:00 GMT"), Some(1_445_412_480));
        assert_eq!(unix("Wed Oct 21 07:28:00 2015"), Some(1_445_412_480));
        assert_eq!(unix("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(unix("Fri, 31 Dec 1999 23:59:59 GMT"), Some(946_684_799));
        assert_eq!(unix("Tue, 29 Feb 2000 12:00:00 GMT"), Some(951_825_600));
    }

    #[test]
    fn lenient_where_the_rfc_is() {
        assert_eq!(unix("21 oct 2015 7:28:0"), Some(1_445_412_480));
        assert_eq!(unix("Wed, 21-October-2015 07:28:00 UTC"), Some(1_445_412_480));
        assert_eq!(unix("Thu, 01-Jan-70 00:00:01 GMT"), Some(1), "70 is 1970");
        assert_eq!(unix("Sat, 01-Jan-00 00:00:00 GMT"), Some(946_684_800), "00 is 2000");
        assert_eq!(unix("Mon, 01 Jan 1900 00:00:00 GMT"), Some(-2_208_988_800), "before 1970");
    }

    #[test]
    fn not_dates() {
        for bad in [
            "",
            "tomorrow",
            "Wed, 21 Oct 2015",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 30 Feb 2015 07:28:00 GMT",
            "Wed, 29 Feb 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 24:00:00 GMT",
            "Wed, 21 Oct 2015 07:60:00 GMT",
            "Wed, 21 Oct 1600 07:28:00 GMT",
            "Wed, 21 Foo 2015 07:28:00 GMT",
        ] {
            assert_eq!(unix(bad), None, "{bad:?}");
        }
    }
}
