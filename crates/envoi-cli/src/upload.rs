//! The request body of a transfer: `-T` streams a file (stdin chunked), otherwise the
//! group's data; each counted for `%{size_upload}`, traced, shown on the progress bar and
//! kept to `--limit-rate`.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use envoi::Body;

use crate::error::CliError;
use crate::pace::{rate_buffer, Pace};
use crate::plan::{RequestBody, TransferSpec};
use crate::progress::Progress;
use crate::trace::Trace;
use crate::transfer::{silent_meter, GroupContext};

/// The request body: `-T` streams a file with its length (stdin chunked); otherwise the
/// group's data. `uploaded` counts the bytes of the last send. A file, and data paced by
/// `--limit-rate`, are opened anew for each send, so a 307 or 308 can send them again (as
/// curl rewinds them); stdin cannot be, and such a redirect fails with curl's 65.
pub fn request_body(
    ctx: &GroupContext,
    spec: &TransferSpec,
    uploaded: &Arc<AtomicU64>,
) -> Result<Option<Body>, CliError> {
    let trace = ctx.trace.clone();
    let rate = ctx.group.limit_rate;
    let bar = !ctx.parallel && Progress::wanted(silent_meter(ctx), false);
    match spec.upload.as_deref() {
        Some("-") => {
            let reader = Counting::new(std::io::stdin(), uploaded.clone(), trace, None, rate);
            Ok(Some(Body::chunked(reader)))
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| CliError::read("file", path, &e))?;
            let len = file
                .metadata()
                .map_err(|e| CliError::read("file", path, &e))?
                .len();
            let bar = bar.then(|| Arc::new(Progress::start(path, Some(len))));
            let (path, count) = (path.to_owned(), uploaded.clone());
            Ok(Some(Body::replayable(Some(len), move || {
                let file = std::fs::File::open(&path)?;
                Ok(Counting::new(
                    file,
                    count.clone(),
                    trace.clone(),
                    bar.clone(),
                    rate,
                ))
            })))
        }
        None => match &ctx.group.body {
            RequestBody::None => Ok(None),
            RequestBody::Bytes { bytes, .. } if rate.is_some_and(|r| r > 0) => {
                // Paced like a file, read from memory; the trace shows it as it goes.
                let (bytes, len) = (bytes.clone(), bytes.len() as u64);
                let count = uploaded.clone();
                Ok(Some(Body::replayable(Some(len), move || {
                    let data = std::io::Cursor::new(bytes.clone());
                    Ok(Counting::new(
                        data,
                        count.clone(),
                        trace.clone(),
                        None,
                        rate,
                    ))
                })))
            }
            RequestBody::Bytes { bytes, .. } => {
                uploaded.store(bytes.len() as u64, Ordering::Relaxed);
                Ok(Some(Body::from_bytes(bytes.clone())))
            }
        },
    }
}

/// A request body reader that counts bytes for `%{size_upload}`, feeds the trace and the
/// progress bar. The library reads it on a thread that may block (the async client reads it
/// on tokio's blocking pool), so the pace sleeps here.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    trace: Arc<Trace>,
    progress: Option<Arc<Progress>>,
    /// `--limit-rate`, from the first read of the body.
    rate: Option<u64>,
    pace: Option<Pace>,
    read: u64,
}

impl<R> Counting<R> {
    /// A reader for one send of the body: the count starts again from 0.
    fn new(
        inner: R,
        count: Arc<AtomicU64>,
        trace: Arc<Trace>,
        progress: Option<Arc<Progress>>,
        rate: Option<u64>,
    ) -> Self {
        count.store(0, Ordering::Relaxed);
        Counting {
            inner,
            count,
            trace,
            progress,
            rate,
            pace: None,
            read: 0,
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rate.is_some() && self.pace.is_none() {
            self.pace = Pace::new(self.rate);
        }
        let buf = match self.pace {
            Some(_) => {
                let len = buf.len().min(rate_buffer(self.rate));
                &mut buf[..len]
            }
            None => buf,
        };
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(pace) = &self.pace {
            pace.wait(self.read);
        }
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.trace.send_data(&buf[..n]);
        if let Some(p) = &self.progress {
            p.add(n as u64);
            if n == 0 {
                p.finish();
            }
        }
        Ok(n)
    }
}
