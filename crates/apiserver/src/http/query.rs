//! Query-string parsing (repeated keys kept in order, empty pairs skipped, `+` = space).

/// Parsed query parameters.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=b&c=d`.
    pub fn parse(q: &str) -> Self {
        Query(
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// First value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a key.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean flag (`true`/`1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true") | Some("1") | Some("")) && self.get(key).is_some()
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// Is this a watch request?
    pub fn watch(&self) -> bool {
        matches!(self.get("watch"), Some("true") | Some("1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_encoded() {
        let q = Query::parse("&command=sh&command=-c&command=echo+hi%21&watch=1&x=%zz%");
        assert_eq!(q.all("command"), vec!["sh", "-c", "echo hi!"]);
        assert!(q.watch());
        assert_eq!(q.get("x"), Some("%zz%"));
    }
}
