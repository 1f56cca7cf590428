//! The request-builder methods every front end offers, written once.
//!
//! A front end's builder is a struct with a field `request: Result<Request, Error>`; invoking
//! [`request_builder_methods!`] inside its `impl` block gives it `header`, `query`, `body`,
//! the timeouts, the credentials, the cancel handle, the user value and `build`. Errors (a bad
//! URL or header) are kept in `request` until `build` or the front end's `send` reports them,
//! so nothing reaches the wire.

/// Expands to the shared builder methods; see the module docs.
macro_rules! request_builder_methods {
    () => {
        fn map(
            mut self,
            f: impl FnOnce(&mut $crate::Request) -> Result<(), $crate::Error>,
        ) -> Self {
            if let Ok(request) = &mut self.request {
                if let Err(e) = f(request) {
                    self.request = Err(e);
                }
            }
            self
        }

        /// Appends a header. A name that is not a token, or a value holding CR, LF, NUL or
        /// another control byte, fails the request with
        /// [`ErrorKind::InvalidHeader`](crate::ErrorKind::InvalidHeader) naming the header.
        pub fn header(self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
            self.map(|r| {
                let (name, value) = $crate::request::header_pair(name.as_ref(), value.as_ref())?;
                r.headers.append(name, value);
                Ok(())
            })
        }

        /// Appends query pairs to the URL, percent-encoded.
        pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
            self.map(|r| {
                r.url
                    .append_query_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
                Ok(())
            })
        }

        /// Sets the body. (The async front end reads a stream body on tokio's blocking pool,
        /// since its reader may block.)
        pub fn body(self, body: impl Into<$crate::Body>) -> Self {
            self.map(|r| {
                r.body = body.into();
                Ok(())
            })
        }

        /// Sets a `multipart/form-data` body and its Content-Type (with the boundary). Files
        /// in the form are streamed, and sent again after a 307 or 308 redirect (feature
        /// `multipart`).
        #[cfg(feature = "multipart")]
        pub fn multipart(self, form: $crate::multipart::Form) -> Self {
            self.map(|r| {
                let (name, value) =
                    $crate::request::header_pair("content-type", form.content_type().as_bytes())?;
                r.headers.insert(name, value);
                r.body = form.into_body();
                Ok(())
            })
        }

        /// Sets an `application/x-www-form-urlencoded` body from `pairs`, percent-encoded, and
        /// its Content-Type.
        pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
            self.map(|r| {
                let mut encoded = String::new();
                $crate::http_url::append_form_pairs(
                    &mut encoded,
                    pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
                );
                r.headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                r.body = $crate::Body::from_bytes(encoded);
                Ok(())
            })
        }

        /// Bounds the whole request (overrides the client's timeout).
        pub fn timeout(self, timeout: std::time::Duration) -> Self {
            self.map(|r| {
                r.timeout = Some(timeout);
                Ok(())
            })
        }

        /// Bounds resolution, connect and TLS (overrides the client's connect timeout).
        pub fn connect_timeout(self, timeout: std::time::Duration) -> Self {
            self.map(|r| {
                r.connect_timeout = Some(timeout);
                Ok(())
            })
        }

        /// Bounds each wait for response bytes (overrides the client's read timeout).
        pub fn read_timeout(self, timeout: std::time::Duration) -> Self {
            self.map(|r| {
                r.read_timeout = Some(timeout);
                Ok(())
            })
        }

        /// Credentials for the server: Basic and Bearer are sent at once, Digest answers the
        /// server's challenge (once: wrong credentials end as the 401 response).
        pub fn auth(self, auth: $crate::Auth) -> Self {
            self.map(|r| {
                r.auth = Some(auth);
                Ok(())
            })
        }

        /// Basic credentials.
        pub fn basic_auth(self, user: &str, password: &str) -> Self {
            self.auth($crate::Auth::basic(user, password))
        }

        /// A Bearer token.
        pub fn bearer_auth(self, token: &str) -> Self {
            self.auth($crate::Auth::bearer(token))
        }

        /// Lets `handle` cancel this request from another thread, at any phase
        /// ([`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)).
        pub fn cancel_handle(self, handle: $crate::CancelHandle) -> Self {
            self.map(|r| {
                r.cancel = Some(handle);
                Ok(())
            })
        }

        /// A value of the caller's that every event of this request carries.
        pub fn user_value(self, value: $crate::UserValue) -> Self {
            self.map(|r| {
                r.user_value = Some(value);
                Ok(())
            })
        }

        /// The request, checked, to send later (and again) with the client's `execute`.
        pub fn build(self) -> Result<$crate::Request, $crate::Error> {
            self.request
        }
    };
}

pub(crate) use request_builder_methods;
