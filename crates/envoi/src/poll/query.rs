//! `query_string_from_dict`: form-encoded text from fields, as Godot builds it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is encoded (Godot's `uri_encode`): a
/// space is `%20`, never `+`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The value of one field of [`query_string_from_dict`]: none (the bare key), one value, or a
/// list (the key repeated for each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryValue {
    /// No value: the key alone, without `=` (Godot's `null`).
    None,
    /// One value.
    One(String),
    /// The key once per value, in order; an empty list adds nothing.
    Many(Vec<String>),
}

impl From<&str> for QueryValue {
    fn from(value: &str) -> Self {
        QueryValue::One(value.to_owned())
    }
}

impl From<String> for QueryValue {
    fn from(value: String) -> Self {
        QueryValue::One(value)
    }
}

impl From<()> for QueryValue {
    fn from((): ()) -> Self {
        QueryValue::None
    }
}

impl<T: Into<QueryValue>> From<Option<T>> for QueryValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(QueryValue::None, Into::into)
    }
}

impl<T: ToString> From<Vec<T>> for QueryValue {
    fn from(values: Vec<T>) -> Self {
        QueryValue::Many(values.iter().map(ToString::to_string).collect())
    }
}

impl<T: ToString> From<&[T]> for QueryValue {
    fn from(values: &[T]) -> Self {
        QueryValue::Many(values.iter().map(ToString::to_string).collect())
    }
}

impl<T: ToString, const N: usize> From<[T; N]> for QueryValue {
    fn from(values: [T; N]) -> Self {
        QueryValue::Many(values.iter().map(ToString::to_string).collect())
    }
}

macro_rules! query_value_from_display {
    ($($t:ty),*) => {$(
        impl From<$t> for QueryValue {
            fn from(value: $t) -> Self {
                QueryValue::One(value.to_string())
            }
        }
    )*};
}
query_value_from_display!(
    bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// Builds `application/x-www-form-urlencoded` text (for a query string or a POST body) from
/// fields in the order given (Godot's `HTTPClient.query_string_from_dict`): `key=value`
/// pairs joined by `&`, keys and values percent-encoded; a key without value is added alone,
/// and a list repeats the key for each value.
///
/// ```
/// use envoi::poll::{query_string_from_dict, QueryValue};
///
/// let fields: [(&str, QueryValue); 3] = [
///     ("single", 123.into()),
///     ("not_valued", QueryValue::None),
///     ("multiple", vec![22, 33, 44].into()),
/// ];
/// assert_eq!(
///     query_string_from_dict(fields),
///     "single=123&not_valued&multiple=22&multiple=33&multiple=44"
/// );
/// assert_eq!(query_string_from_dict([("q", "a b&c")]), "q=a%20b%26c");
/// ```
pub fn query_string_from_dict<K, V>(fields: impl IntoIterator<Item = (K, V)>) -> String
where
    K: AsRef<str>,
    V: Into<QueryValue>,
{
    let mut pairs: Vec<String> = Vec::new();
    for (key, value) in fields {
        let key = utf8_percent_encode(key.as_ref(), COMPONENT).to_string();
        match value.into() {
            QueryValue::None => pairs.push(key),
            QueryValue::One(value) => pairs.push(pair(&key, &value)),
            QueryValue::Many(values) => pairs.extend(values.iter().map(|v| pair(&key, v))),
        }
    }
    pairs.join("&")
}

fn pair(key: &str, value: &str) -> String {
    format!("{key}={}", utf8_percent_encode(value, COMPONENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn godots_examples() {
        assert_eq!(
            query_string_from_dict([("username", "user"), ("password", "pass")]),
            "username=user&password=pass"
        );
        let fields: Vec<(&str, QueryValue)> = vec![
            ("single", 123.into()),
            ("not_valued", QueryValue::None),
            ("multiple", vec![22, 33, 44].into()),
        ];
        assert_eq!(
            query_string_from_dict(fields),
            "single=123&not_valued&multiple=22&multiple=33&multiple=44"
        );
    }

    #[test]
    fn keys_and_values_are_percent_encoded_but_unreserved_characters_stay() {
        assert_eq!(
            query_string_from_dict([("a key/é", "x=y&z~-._ 1+2")]),
            "a%20key%2F%C3%A9=x%3Dy%26z~-._%201%2B2"
        );
    }

    #[test]
    fn empty_lists_add_nothing_and_options_choose() {
        let fields: [(&str, QueryValue); 4] = [
            ("empty", Vec::<u8>::new().into()),
            ("some", Some("v").into()),
            ("none", Option::<&str>::None.into()),
            ("flag", true.into()),
        ];
        assert_eq!(query_string_from_dict(fields), "some=v&none&flag=true");
        assert_eq!(query_string_from_dict(Vec::<(&str, &str)>::new()), "");
    }
}
