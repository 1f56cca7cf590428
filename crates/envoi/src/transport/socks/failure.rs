//! Why a SOCKS5 handshake failed: [`SocksFailure`], the reply codes of RFC 1928 and the
//! client's own reasons, and the error source that carries it to [`Error::socks_failure`].

use std::error::Error as StdError;
use std::fmt;

use crate::error::{Error, ErrorKind};

/// Why a SOCKS5 proxy did not open a tunnel, as [`Error::socks_failure`] reports it. The
/// reply codes are RFC 1928's (§6).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocksFailure {
    /// Reply 1: general SOCKS server failure.
    GeneralFailure,
    /// Reply 2: connection not allowed by the proxy's ruleset.
    NotAllowed,
    /// Reply 3: network unreachable.
    NetworkUnreachable,
    /// Reply 4: host unreachable (a socks5h proxy that cannot resolve the name says this).
    HostUnreachable,
    /// Reply 5: the origin refused the connection.
    ConnectionRefused,
    /// Reply 6: TTL expired.
    TtlExpired,
    /// Reply 7: command not supported.
    CommandNotSupported,
    /// Reply 8: address type not supported.
    AddressTypeNotSupported,
    /// A reply code RFC 1928 does not assign (9 to 255).
    UnassignedReply(u8),
    /// The proxy accepts none of the authentication methods offered (method 0xFF): without
    /// credentials, it may require a username and password.
    NoAcceptableMethod,
    /// The proxy chose a method the client did not offer.
    UnofferedMethod(u8),
    /// The proxy refused the username and password (RFC 1929 status other than 0).
    AuthenticationRejected,
    /// A message from the proxy had this version byte where 5 (or 1, for the
    /// authentication status) belongs: not a SOCKS5 proxy.
    BadVersion(u8),
    /// A reply with an unknown address type.
    MalformedReply,
    /// The proxy closed the connection before the tunnel was open.
    Closed,
    /// The origin's host name is longer than the 255 bytes a SOCKS5 request can carry;
    /// nothing was sent.
    NameTooLong,
    /// The user name or the password is longer than 255 bytes; nothing was sent.
    CredentialsTooLong,
    /// The origin's host name could not be resolved by the client (a `socks5` proxy is sent
    /// an address).
    TargetNotResolved,
}

impl SocksFailure {
    /// The failure a reply code other than 0 (succeeded) stands for.
    ///
    /// ```
    /// use envoi::SocksFailure;
    /// assert_eq!(SocksFailure::from_reply(5), Some(SocksFailure::ConnectionRefused));
    /// assert_eq!(SocksFailure::from_reply(0), None);
    /// assert_eq!(SocksFailure::from_reply(9), Some(SocksFailure::UnassignedReply(9)));
    /// ```
    pub fn from_reply(code: u8) -> Option<SocksFailure> {
        Some(match code {
            0 => return None,
            1 => SocksFailure::GeneralFailure,
            2 => SocksFailure::NotAllowed,
            3 => SocksFailure::NetworkUnreachable,
            4 => SocksFailure::HostUnreachable,
            5 => SocksFailure::ConnectionRefused,
            6 => SocksFailure::TtlExpired,
            7 => SocksFailure::CommandNotSupported,
            8 => SocksFailure::AddressTypeNotSupported,
            other => SocksFailure::UnassignedReply(other),
        })
    }

    /// The reply code, for a failure the proxy's reply to CONNECT reported.
    pub fn reply_code(self) -> Option<u8> {
        Some(match self {
            SocksFailure::GeneralFailure => 1,
            SocksFailure::NotAllowed => 2,
            SocksFailure::NetworkUnreachable => 3,
            SocksFailure::HostUnreachable => 4,
            SocksFailure::ConnectionRefused => 5,
            SocksFailure::TtlExpired => 6,
            SocksFailure::CommandNotSupported => 7,
            SocksFailure::AddressTypeNotSupported => 8,
            SocksFailure::UnassignedReply(code) => code,
            _ => return None,
        })
    }

    /// The kind of the [`Error`] that carries this failure: refused credentials are
    /// [`ErrorKind::AuthenticationFailed`] (as a 407 to CONNECT is), a name or a credential
    /// too long to send [`ErrorKind::InvalidRequest`], an origin name the client could not
    /// resolve [`ErrorKind::CantResolve`], and everything the proxy did or said otherwise
    /// [`ErrorKind::ProxyFailed`].
    pub fn error_kind(self) -> ErrorKind {
        match self {
            SocksFailure::AuthenticationRejected => ErrorKind::AuthenticationFailed,
            SocksFailure::NameTooLong | SocksFailure::CredentialsTooLong => {
                ErrorKind::InvalidRequest
            }
            SocksFailure::TargetNotResolved => ErrorKind::CantResolve,
            _ => ErrorKind::ProxyFailed,
        }
    }
}

impl fmt::Display for SocksFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            SocksFailure::GeneralFailure => "general SOCKS server failure",
            SocksFailure::NotAllowed => "connection not allowed by ruleset",
            SocksFailure::NetworkUnreachable => "network unreachable",
            SocksFailure::HostUnreachable => "host unreachable",
            SocksFailure::ConnectionRefused => "connection refused",
            SocksFailure::TtlExpired => "TTL expired",
            SocksFailure::CommandNotSupported => "command not supported",
            SocksFailure::AddressTypeNotSupported => "address type not supported",
            SocksFailure::UnassignedReply(code) => {
                return write!(f, "unassigned reply code {code}")
            }
            SocksFailure::NoAcceptableMethod => "no acceptable authentication method",
            SocksFailure::UnofferedMethod(method) => {
                return write!(
                    f,
                    "the proxy chose method {method:#04x}, which was not offered"
                )
            }
            SocksFailure::AuthenticationRejected => "username and password rejected",
            SocksFailure::BadVersion(byte) => {
                return write!(f, "version byte {byte:#04x}: not a SOCKS5 proxy")
            }
            SocksFailure::MalformedReply => "malformed reply",
            SocksFailure::Closed => "the proxy closed the connection during the handshake",
            SocksFailure::NameTooLong => "host name longer than 255 bytes",
            SocksFailure::CredentialsTooLong => "user name or password longer than 255 bytes",
            SocksFailure::TargetNotResolved => "the origin's name could not be resolved",
        };
        f.write_str(text)?;
        if let Some(code) = self.reply_code().filter(|c| *c <= 8) {
            write!(f, " (reply {code})")?;
        }
        Ok(())
    }
}

/// The source of an [`Error`] from a SOCKS5 handshake: which failure, and the error under it
/// (an I/O error, or the resolver's).
#[derive(Debug)]
pub(super) struct SocksError {
    pub(super) failure: SocksFailure,
    pub(super) source: Option<Box<dyn StdError + Send + Sync>>,
}

impl fmt::Display for SocksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOCKS5: {}", self.failure)
    }
}

impl StdError for SocksError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl Error {
    /// Why a SOCKS5 proxy did not open the tunnel, when that is what failed (the
    /// [`kind`](Error::kind) is then [`SocksFailure::error_kind`]'s).
    ///
    /// ```
    /// # fn main() -> Result<(), envoi::Error> {
    /// use envoi::{ErrorKind, Proxy, SocksFailure};
    ///
    /// // Stands for the proxy: a name no SOCKS5 request can carry fails before a byte is sent.
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let proxy = Proxy::socks5h("127.0.0.1", listener.local_addr().unwrap().port());
    /// let client = envoi::blocking::Client::builder().http_proxy(proxy).build()?;
    /// let url = format!("http://{}.example/", "a".repeat(300));
    /// let error = client.get(&url).send().unwrap_err();
    /// assert_eq!(error.socks_failure(), Some(SocksFailure::NameTooLong));
    /// assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    /// # Ok(())
    /// # }
    /// ```
    pub fn socks_failure(&self) -> Option<SocksFailure> {
        let mut cause = StdError::source(self);
        while let Some(error) = cause {
            if let Some(socks) = error.downcast_ref::<SocksError>() {
                return Some(socks.failure);
            }
            cause = error.source();
        }
        None
    }
}

/// An error of `failure`, with its kind and `message`.
pub(super) fn failed(failure: SocksFailure, message: String) -> Error {
    Error::new(failure.error_kind(), message).with_source(SocksError {
        failure,
        source: None,
    })
}
