//! TEMPORARY shim over url::Url with the API of envoi's own parser (being written).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An `http` or `https` URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url(url::Url);

/// A URL's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name, in ASCII.
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

/// Why text is not a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(url::ParseError);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ParseError {}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({:?})", self.as_str())
    }
}

impl std::str::FromStr for Url {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Url, ParseError> {
        Url::parse(s)
    }
}

impl Url {
    /// Parses.
    pub fn parse(input: &str) -> Result<Url, ParseError> {
        url::Url::parse(input).map(Url).map_err(ParseError)
    }
    /// Joins.
    pub fn join(&self, input: &str) -> Result<Url, ParseError> {
        self.0.join(input).map(Url).map_err(ParseError)
    }
    /// Text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    /// Scheme.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }
    /// User.
    pub fn username(&self) -> &str {
        self.0.username()
    }
    /// Password.
    pub fn password(&self) -> Option<&str> {
        self.0.password()
    }
    /// Host.
    pub fn host_str(&self) -> Option<&str> {
        self.0.host_str()
    }
    /// Host.
    pub fn host(&self) -> Option<Host<'_>> {
        Some(match self.0.host()? {
            url::Host::Domain(d) => Host::Domain(d),
            url::Host::Ipv4(a) => Host::Ipv4(a),
            url::Host::Ipv6(a) => Host::Ipv6(a),
        })
    }
    /// Port.
    pub fn port(&self) -> Option<u16> {
        self.0.port()
    }
    /// Port.
    pub fn port_or_known_default(&self) -> Option<u16> {
        self.0.port_or_known_default()
    }
    /// Path.
    pub fn path(&self) -> &str {
        self.0.path()
    }
    /// Query.
    pub fn query(&self) -> Option<&str> {
        self.0.query()
    }
    /// Fragment.
    pub fn fragment(&self) -> Option<&str> {
        self.0.fragment()
    }
    /// Path and query.
    pub fn path_and_query(&self) -> &str {
        &self.0[url::Position::BeforePath..url::Position::AfterQuery]
    }
    /// Without fragment.
    pub fn without_fragment(&self) -> &str {
        &self.0[..url::Position::AfterQuery]
    }
    /// Sets the fragment.
    pub fn set_fragment(&mut self, fragment: Option<&str>) {
        self.0.set_fragment(fragment)
    }
    /// Sets the user name.
    pub fn set_username(&mut self, username: &str) {
        let _ = self.0.set_username(username);
    }
    /// Sets the password.
    pub fn set_password(&mut self, password: Option<&str>) {
        let _ = self.0.set_password(password);
    }
    /// Appends query pairs.
    pub fn append_query_pairs<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.0.query_pairs_mut().extend_pairs(pairs);
    }
    /// Same origin.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.0.origin() == other.0.origin()
    }
}
