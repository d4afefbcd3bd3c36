//! yaml.v3's scalar resolution (`resolve.go` of go-yaml v3.0.4) and the Go number and time
//! formatting the encoder uses.

/// What a plain, untagged scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer in (i64::MAX, u64::MAX]: yaml.v3 gives a `uint64`, which sops cannot store.
    Uint,
    Float(f64),
    /// A timestamp, already formatted as Go's RFC3339Nano.
    Time(String),
    /// `<<` (a merge key; sops keeps it as the literal string).
    Merge,
    Str,
}

impl Resolved {
    /// The short tag yaml.v3 would give.
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Resolved::Null => "!!null",
            Resolved::Bool(_) => "!!bool",
            Resolved::Int(_) | Resolved::Uint => "!!int",
            Resolved::Float(_) => "!!float",
            Resolved::Time(_) => "!!timestamp",
            Resolved::Merge => "!!merge",
            Resolved::Str => "!!str",
        }
    }
}

/// Resolve a plain scalar the way `resolve("", s)` does in yaml.v3. `allow_time` is false when
/// an explicit tag other than `!!timestamp` is being checked (yaml.v3 skips the timestamp
/// attempt then).
pub(crate) fn resolve_plain(s: &str, allow_time: bool) -> Resolved {
    match s {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    let first = s.as_bytes().first().copied().unwrap_or(0);
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return Resolved::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if allow_time {
                if let Some(t) = parse_timestamp(s) {
                    return Resolved::Time(t);
                }
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            match go_parse_int_base0(&plain) {
                IntParse::Int(i) => return Resolved::Int(i),
                IntParse::Uint => return Resolved::Uint,
                IntParse::Invalid => {}
            }
            if is_yaml_style_float(&plain) {
                if let Some(f) = go_parse_float(&plain) {
                    return Resolved::Float(f);
                }
            }
        }
        _ => {}
    }
    Resolved::Str
}

enum IntParse {
    Int(i64),
    Uint,
    Invalid,
}

/// Go `strconv.ParseInt(s, 0, 64)` followed by `ParseUint(s, 0, 64)` (underscores already
/// removed by the caller).
fn go_parse_int_base0(s: &str) -> IntParse {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0b") => (2, &body[2..]),
        Some("0o") => (8, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::Invalid;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::Invalid;
    };
    if neg {
        if mag <= (i64::MAX as u128) + 1 {
            IntParse::Int((mag as i128).wrapping_neg() as i64)
        } else {
            IntParse::Invalid
        }
    } else if mag <= i64::MAX as u128 {
        IntParse::Int(mag as i64)
    } else if mag <= u64::MAX as u128 && s.as_bytes().first() != Some(&b'+') {
        // ParseUint rejects a sign.
        IntParse::Uint
    } else {
        IntParse::Invalid
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A subset of Go `strconv.ParseFloat(s, 64)`: decimal literals (with optional exponent),
/// `inf`/`infinity`/`nan`. Out-of-range values are an error, as in Go.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let rest = s.get(i..)?.to_ascii_lowercase();
    if rest == "inf" || rest == "infinity" {
        return Some(if b.first() == Some(&b'-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if rest == "nan" && i == 0 {
        return Some(f64::NAN);
    }
    // Decimal only: digits with at most one '.', then an optional exponent.
    let mut mant = 0;
    let mut dot = false;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        if c.is_ascii_digit() {
            mant += 1;
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            break;
        }
        j += 1;
    }
    if mant == 0 {
        return None;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let st = j;
        while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        if j == st {
            return None;
        }
    }
    if j != b.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// yaml.v3 `parseTimestamp`: the four accepted layouts; returns Go's RFC3339Nano text.
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let ndig = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if ndig != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    let mut p = TsParser { b, i: 0 };
    let year = p.fixed_digits(4)?;
    p.expect(b'-')?;
    let month = p.one_or_two()?;
    p.expect(b'-')?;
    let day = p.one_or_two()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if p.i == b.len() {
        return Some(format_rfc3339nano(year, month, day, 0, 0, 0, 0, Some(0)));
    }
    let sep = *b.get(p.i)?;
    let with_zone = match sep {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    p.i += 1;
    let hour = p.one_or_two()?;
    p.expect(b':')?;
    let min = p.one_or_two()?;
    p.expect(b':')?;
    let sec = p.one_or_two()?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    // Optional fraction ('.' or ',' then digits).
    let mut nanos = 0u32;
    if matches!(b.get(p.i), Some(b'.' | b',')) && b.get(p.i + 1).is_some_and(|c| c.is_ascii_digit())
    {
        p.i += 1;
        let mut n = 0;
        while let Some(&c) = b.get(p.i) {
            if !c.is_ascii_digit() {
                break;
            }
            if n < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            n += 1;
            p.i += 1;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset = if with_zone {
        match b.get(p.i) {
            Some(b'Z') => {
                p.i += 1;
                0
            }
            Some(&c @ (b'+' | b'-')) => {
                p.i += 1;
                let hh = p.fixed_digits(2)?;
                p.expect(b':')?;
                let mm = p.fixed_digits(2)?;
                if hh > 24 || mm > 60 {
                    return None;
                }
                let off = (hh * 3600 + mm * 60) as i32;
                if c == b'-' {
                    -off
                } else {
                    off
                }
            }
            _ => return None,
        }
    } else {
        0
    };
    if p.i != b.len() {
        return None;
    }
    Some(format_rfc3339nano(
        year,
        month,
        day,
        hour,
        min,
        sec,
        nanos,
        Some(offset),
    ))
}

struct TsParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl TsParser<'_> {
    fn expect(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
    fn fixed_digits(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let c = *self.b.get(self.i)?;
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
            self.i += 1;
        }
        Some(v)
    }
    /// Go's `getnum(value, false)`: one digit, or two when the second is a digit.
    fn one_or_two(&mut self) -> Option<u32> {
        let c = *self.b.get(self.i)?;
        if !c.is_ascii_digit() {
            return None;
        }
        self.i += 1;
        let mut v = u32::from(c - b'0');
        if let Some(&d) = self.b.get(self.i) {
            if d.is_ascii_digit() {
                v = v * 10 + u32::from(d - b'0');
                self.i += 1;
            }
        }
        Some(v)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[allow(clippy::too_many_arguments)]
fn format_rfc3339nano(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    offset: Option<i32>,
) -> String {
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    match offset {
        Some(0) | None => out.push('Z'),
        Some(off) => {
            let sign = if off < 0 { '-' } else { '+' };
            let a = off.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
        }
    }
    out
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)` with yaml.v3's `.inf`/`-.inf`/`.nan`.
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e9", "0e0".
    let e = format!("{:e}", f);
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else {
        // %f with exactly the significant digits.
        let dp = exp + 1; // digits before the point
        if dp <= 0 {
            out.push_str("0.");
            for _ in 0..(-dp) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let dp = dp as usize;
            if digits.len() <= dp {
                out.push_str(&digits);
                for _ in digits.len()..dp {
                    out.push('0');
                }
            } else {
                out.push_str(&digits[..dp]);
                out.push('.');
                out.push_str(&digits[dp..]);
            }
        }
    }
    out
}

/// yaml.v3 `isOldBool`: YAML 1.1 booleans are quoted on output.
pub(crate) fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// yaml.v3 `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    if !b.get(i).is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // [0-5]?[0-9]
        let d1 = b.get(i).copied();
        let d2 = b.get(i + 1).copied();
        match (d1, d2) {
            (Some(a @ b'0'..=b'5'), Some(b'0'..=b'9')) => {
                let _ = a;
                i += 2;
            }
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(resolve_plain("0777", true), Resolved::Int(511));
        assert_eq!(resolve_plain("0x1F", true), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17", true), Resolved::Int(15));
        assert_eq!(resolve_plain("-0b101", true), Resolved::Int(-5));
        assert_eq!(resolve_plain("1_000", true), Resolved::Int(1000));
        assert_eq!(resolve_plain("+12", true), Resolved::Int(12));
        assert_eq!(resolve_plain("08", true), Resolved::Float(8.0));
        assert_eq!(resolve_plain("18446744073709551615", true), Resolved::Uint);
        assert_eq!(
            resolve_plain("-9223372036854775808", true),
            Resolved::Int(i64::MIN)
        );
        assert_eq!(resolve_plain("1e400", true), Resolved::Str);
        assert_eq!(resolve_plain("yes", true), Resolved::Str);
        assert_eq!(resolve_plain(".5", true), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1.", true), Resolved::Float(1.0));
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_timestamp("2024-01-01").as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2024-1-2T3:4:5.120+07:06").as_deref(),
            Some("2024-01-02T03:04:05.12+07:06")
        );
        assert_eq!(
            parse_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(parse_timestamp("2023-02-29"), None);
        assert_eq!(parse_timestamp("2024-01-01T00:00:00"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(format_float_g(1234568000.0), "1.234568e+09");
        assert_eq!(format_float_g(2.0), "2");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(123456.7), "123456.7");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(-1.5e-300), "-1.5e-300");
        assert_eq!(format_float_g(f64::NEG_INFINITY), "-.inf");
    }

    #[test]
    fn base60() {
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("1:2a"));
        assert!(!is_base60_float("12"));
    }
}
