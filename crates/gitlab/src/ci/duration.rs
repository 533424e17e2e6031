//! Durations as GitLab's ChronicDuration reads them (`1 week`, `3h 30m`, `90`, `never`).

/// Seconds in `text`, or `None` when it is not a duration. `never` is `Some(None)`-like and
/// reported through [`is_never`].
pub fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let mut total = 0f64;
    let mut chars = text.chars().peekable();
    let mut seen = false;
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut number = String::new();
        while let Some(c) = chars
            .peek()
            .copied()
            .filter(|c| c.is_ascii_digit() || *c == '.')
        {
            number.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut unit = String::new();
        while let Some(c) = chars.peek().copied().filter(|c| c.is_ascii_alphabetic()) {
            unit.push(c);
            chars.next();
        }
        if number.is_empty() {
            if unit == "and" {
                continue;
            }
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let factor = match unit.as_str() {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "wk" | "wks" | "week" | "weeks" => 604_800.0,
            "mo" | "mon" | "mos" | "month" | "months" => 2_592_000.0,
            "y" | "yr" | "yrs" | "year" | "years" => 31_557_600.0,
            _ => return None,
        };
        total += value * factor;
        seen = true;
    }
    seen.then_some(total as u64)
}

/// `true` for the `expire_in: never` spelling.
pub fn is_never(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case("never")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gitlab_spellings() {
        assert_eq!(parse_seconds("1 week"), Some(604_800));
        assert_eq!(parse_seconds("3h 30m"), Some(12_600));
        assert_eq!(parse_seconds("3h30m"), Some(12_600));
        assert_eq!(parse_seconds("90"), Some(90));
        assert_eq!(parse_seconds("2 hrs and 20 minutes"), Some(8_400));
        assert_eq!(parse_seconds("soon"), None);
        assert!(is_never("never"));
    }
}
