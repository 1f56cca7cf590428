//! hyper-util's legacy client on a current-thread tokio runtime, each loop inside one
//! `block_on` as an async user writes it; TLS through hyper-rustls on ring.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Legacy;
use hyper_util::rt::TokioExecutor;

use crate::common::{check_len, install_ring, Client, Decoded, Pattern, Result, Trust};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct Hyper {
    runtime: tokio::runtime::Runtime,
    tls: Arc<rustls::ClientConfig>,
    /// Made once, so the warm-up's connection is the one the timed loop reuses.
    empty: Option<Legacy<Connector, Empty<Bytes>>>,
}

impl Hyper {
    pub fn new(trust: &Trust) -> Result<Hyper> {
        install_ring();
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = &trust.pem {
            use rustls_pki_types::pem::PemObject;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
                roots.add(cert?)?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut hyper = Hyper {
            runtime,
            tls: Arc::new(tls),
            empty: None,
        };
        hyper.empty = Some(hyper.client());
        Ok(hyper)
    }

    /// A client whose requests carry bodies of type `B`.
    fn client<B>(&self) -> Legacy<Connector, B>
    where
        B: Body + Send + 'static + Unpin,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        // hyper-util leaves Nagle on by default; every other client here turns it off.
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Legacy::builder(TokioExecutor::new()).build(connector)
    }
}

impl Client for Hyper {
    fn get_loop(&mut self, url: &str, secs: Duration, expect: usize) -> Result<u64> {
        let uri: hyper::Uri = url.parse()?;
        let client = self.empty.clone().ok_or("no client")?;
        self.runtime.block_on(async {
            let start = Instant::now();
            let mut count = 0;
            while start.elapsed() < secs {
                let response = client.get(uri.clone()).await?;
                let body = response.into_body().collect().await?.to_bytes();
                check_len(body.len(), expect)?;
                count += 1;
            }
            Ok(count)
        })
    }

    fn download(&mut self, url: &str, _buf: &mut [u8]) -> Result<u64> {
        let uri: hyper::Uri = url.parse()?;
        let client = self.empty.clone().ok_or("no client")?;
        self.runtime.block_on(async {
            let mut body = client.get(uri).await?.into_body();
            let mut total = 0u64;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    total += data.len() as u64;
                }
            }
            Ok(total)
        })
    }

    fn upload(&mut self, url: &str, len: u64) -> Result<String> {
        let client = self.client::<PatternBody>();
        let request = hyper::Request::post(url)
            .header(hyper::header::CONTENT_LENGTH, len)
            .body(PatternBody(Pattern::new(len), len))?;
        self.runtime.block_on(async {
            let response = client.request(request).await?;
            let body = response.into_body().collect().await?.to_bytes();
            Ok(String::from_utf8_lossy(&body).into_owned())
        })
    }

    fn decode(&mut self, _url: &str, _buf: &mut [u8]) -> Result<Decoded> {
        Err("not supported: hyper-util's legacy client has no transparent decoding".into())
    }
}

/// An upload body of 64 KiB frames, each copied into a fresh `Bytes` (one copy per byte, as
/// the `Read`-based clients make).
struct PatternBody(Pattern, u64);

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Infallible>>> {
        let piece = self.0.next_piece();
        self.1 -= piece.len() as u64;
        if piece.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(piece)))))
    }

    fn is_end_stream(&self) -> bool {
        self.1 == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.1)
    }
}
