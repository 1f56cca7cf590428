//! A [`poll::Request`](super::Request)'s download file, written off the calling thread: one
//! writer thread for the whole process, fed by a queue, as names are resolved. Creating the
//! `.part`, writing to it and the final flush and rename are file system calls that can take
//! milliseconds (seconds for the flush of a large file on a slow disk); a frame loop must not
//! wait for them. A step hands the bytes over and looks, without waiting, at how far the
//! writer got.
//!
//! Nothing is lost on the way: the bytes in flight are bounded (past [`BACKLOG`] the step
//! stops reading the socket, so the server is held back by TCP instead), a failed create or
//! write is reported by the next step with its own kind, and the download only counts as
//! complete once the writer has flushed and renamed it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, ErrorKind};
use crate::policy::DownloadFile;

/// Bytes handed to the writer and not yet written, past which a step reads no more.
pub(crate) const BACKLOG: u64 = 4 * 1024 * 1024;

/// A download file whose writing happens on the writer thread.
pub(crate) struct DownloadWriter {
    shared: Arc<Shared>,
    /// The commit was queued.
    committing: bool,
}

/// What the writer thread and the step both see.
struct Shared {
    file: Mutex<FileState>,
    in_flight: AtomicU64,
    /// The step gave the download up: queued writes are skipped.
    abandoned: AtomicBool,
}

enum FileState {
    /// The create is queued.
    Opening,
    Open(DownloadFile),
    /// Flushed and renamed to this path.
    Committed(PathBuf),
    /// The failure, until a step takes it, and its kind for any later look.
    Failed(Option<Error>, ErrorKind),
}

impl FileState {
    fn failed(error: Error) -> FileState {
        let kind = error.kind();
        FileState::Failed(Some(error), kind)
    }
}

enum Op {
    Create(PathBuf),
    Write(Bytes),
    Commit,
}

struct Job {
    shared: Arc<Shared>,
    op: Op,
}

impl DownloadWriter {
    /// Queues the creation of `<path>.part`; a failure shows in a later call.
    pub(crate) fn create(path: PathBuf) -> DownloadWriter {
        let writer = DownloadWriter {
            shared: Arc::new(Shared {
                file: Mutex::new(FileState::Opening),
                in_flight: AtomicU64::new(0),
                abandoned: AtomicBool::new(false),
            }),
            committing: false,
        };
        writer.queue(Op::Create(path));
        writer
    }

    /// Hands `bytes` to the writer. Fails with the error of an earlier create or write.
    pub(crate) fn write(&mut self, bytes: Bytes) -> Result<(), Error> {
        self.check()?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.shared
            .in_flight
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.queue(Op::Write(bytes));
        Ok(())
    }

    /// True while so many bytes wait for the writer that no more should be read.
    pub(crate) fn backlogged(&self) -> bool {
        self.shared.in_flight.load(Ordering::Relaxed) > BACKLOG
    }

    /// Queues the flush and rename once, then says whether they are done: the final path
    /// when they are, `None` while the writer is still at it.
    pub(crate) fn poll_commit(&mut self) -> Result<Option<PathBuf>, Error> {
        if !self.committing {
            self.check()?;
            self.committing = true;
            self.queue(Op::Commit);
        }
        match self.shared.file.try_lock() {
            Ok(mut state) => match &mut *state {
                FileState::Committed(path) => Ok(Some(path.clone())),
                FileState::Failed(e, kind) => Err(take_error(e, *kind)),
                FileState::Opening | FileState::Open(_) => Ok(None),
            },
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Poisoned(_)) => Err(stopped()),
        }
    }

    /// The error of an earlier create or write, if one came; never waits for the writer.
    fn check(&self) -> Result<(), Error> {
        match self.shared.file.try_lock() {
            Ok(mut state) => match &mut *state {
                FileState::Failed(e, kind) => Err(take_error(e, *kind)),
                _ => Ok(()),
            },
            Err(TryLockError::WouldBlock) => Ok(()),
            Err(TryLockError::Poisoned(_)) => Err(stopped()),
        }
    }

    fn queue(&self, op: Op) {
        let job = Job {
            shared: Arc::clone(&self.shared),
            op,
        };
        if let Err(e) = submit(job) {
            let mut state = self
                .shared
                .file
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let error = Error::new(
                ErrorKind::DownloadFileWriteError,
                "could not start the download writer thread",
            );
            *state = FileState::failed(error.with_source(e));
        }
    }
}

impl Drop for DownloadWriter {
    fn drop(&mut self) {
        // An uncommitted download is dropped on the writer thread once its queue is through,
        // which removes its `.part`; writes still queued for it are skipped.
        self.shared.abandoned.store(true, Ordering::Relaxed);
    }
}

/// The failure for the first look, with its cause; a later look gets its kind again.
fn take_error(error: &mut Option<Error>, kind: ErrorKind) -> Error {
    error
        .take()
        .unwrap_or_else(|| Error::new(kind, "the download file failed earlier"))
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::DownloadFileWriteError,
        "the download writer stopped",
    )
}

/// The writer thread's queue. A step only appends to it: waking the writer for every piece
/// would cost the step a system call and, on a busy core, hand the core to the writer there
/// and then. The writer naps between batches while downloads are running and parks when there
/// has been nothing to write for a while; only then does a step wake it.
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// The writer is parked (or about to be): the next job must unpark it.
    parked: AtomicBool,
    /// The writer thread, which sets it as it starts (before it can ever park).
    writer: OnceLock<std::thread::Thread>,
}

/// How long the writer naps between batches while a download is running.
const NAP: Duration = Duration::from_micros(500);
/// Naps with nothing to write before the writer parks.
const IDLE_NAPS: u32 = 200;

/// Appends the job to the writer's queue, starting the writer thread the first time.
fn submit(job: Job) -> Result<(), std::io::Error> {
    static QUEUE: OnceLock<Arc<Queue>> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    let queue = match QUEUE.get() {
        Some(queue) => queue,
        None => {
            let _starting = START.lock().unwrap_or_else(PoisonError::into_inner);
            match QUEUE.get() {
                Some(queue) => queue,
                None => {
                    let queue = start_writer()?;
                    QUEUE.get_or_init(|| queue)
                }
            }
        }
    };
    queue
        .jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push_back(job);
    if queue.parked.swap(false, Ordering::AcqRel) {
        if let Some(writer) = queue.writer.get() {
            writer.unpark();
        }
    }
    Ok(())
}

fn start_writer() -> Result<Arc<Queue>, std::io::Error> {
    let queue = Arc::new(Queue {
        jobs: Mutex::new(VecDeque::new()),
        parked: AtomicBool::new(false),
        writer: OnceLock::new(),
    });
    let ours = Arc::clone(&queue);
    std::thread::Builder::new()
        .name("envoi-poll-download".into())
        .spawn(move || {
            let _ = ours.writer.set(std::thread::current());
            write_forever(&ours);
        })?;
    Ok(queue)
}

fn write_forever(queue: &Queue) {
    let mut idle = 0;
    loop {
        let batch = std::mem::take(&mut *queue.jobs.lock().unwrap_or_else(PoisonError::into_inner));
        if !batch.is_empty() {
            idle = 0;
            for job in batch {
                run(job);
                // A frame loop sharing this core gets it back after each piece, rather than
                // after the whole batch (megabytes of writes).
                std::thread::yield_now();
            }
            continue;
        }
        if idle < IDLE_NAPS {
            idle += 1;
            std::thread::sleep(NAP);
            continue;
        }
        queue.parked.store(true, Ordering::Release);
        // A job queued before the flag was up would not unpark the writer: look once more.
        let empty = queue
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        if empty {
            std::thread::park();
        }
        queue.parked.store(false, Ordering::Release);
        idle = 0;
    }
}

fn run(job: Job) {
    let shared = &job.shared;
    let mut state = shared.file.lock().unwrap_or_else(PoisonError::into_inner);
    match job.op {
        Op::Create(path) => {
            *state = match DownloadFile::create(path) {
                Ok(file) => FileState::Open(file),
                Err(e) => FileState::failed(e),
            };
        }
        Op::Write(bytes) => {
            shared
                .in_flight
                .fetch_sub(bytes.len() as u64, Ordering::Relaxed);
            if shared.abandoned.load(Ordering::Relaxed) {
                return;
            }
            if let FileState::Open(file) = &mut *state {
                if let Err(e) = file.write(&bytes) {
                    *state = FileState::failed(e);
                }
            }
        }
        Op::Commit => {
            if let FileState::Open(_) = &*state {
                if let FileState::Open(file) = std::mem::replace(&mut *state, FileState::Opening) {
                    *state = match file.commit() {
                        Ok(path) => FileState::Committed(path),
                        Err(e) => FileState::failed(e),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "envoi-download-writer-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn committed(writer: &mut DownloadWriter) -> Result<PathBuf, Error> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(path) = writer.poll_commit()? {
                return Ok(path);
            }
            assert!(Instant::now() < until, "the writer never finished");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn bytes_arrive_in_order_and_the_file_appears_only_once_committed() {
        let dir = scratch("order");
        let target = dir.join("out.bin");
        let mut writer = DownloadWriter::create(target.clone());
        let mut want = Vec::new();
        for i in 0..200u32 {
            let piece = vec![(i % 251) as u8; 1000 + i as usize];
            want.extend_from_slice(&piece);
            writer.write(Bytes::from(piece)).unwrap();
        }
        assert!(!target.exists());
        assert_eq!(committed(&mut writer).unwrap(), target);
        assert_eq!(std::fs::read(&target).unwrap(), want);
        assert!(!dir.join("out.bin.part").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_cannot_be_created_fails_with_its_kind() {
        let target = PathBuf::from("/nonexistent/envoi/dir/out.bin");
        let mut writer = DownloadWriter::create(target);
        let until = Instant::now() + Duration::from_secs(10);
        let error = loop {
            if let Err(e) = writer.write(Bytes::from_static(b"data")) {
                break e;
            }
            assert!(Instant::now() < until, "no error came");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(error.kind(), ErrorKind::DownloadFileCantOpen);
        let again = committed(&mut writer).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::DownloadFileCantOpen);
    }

    #[test]
    fn a_dropped_download_leaves_no_part_file() {
        let dir = scratch("dropped");
        let target = dir.join("out.bin");
        let mut writer = DownloadWriter::create(target.clone());
        writer.write(Bytes::from(vec![7; 10_000])).unwrap();
        drop(writer);
        // The writer drops the file after its queue: one more download through the same
        // thread means the first one's jobs are done.
        let mut after = DownloadWriter::create(dir.join("after.bin"));
        committed(&mut after).unwrap();
        assert!(!target.exists());
        assert!(!dir.join("out.bin.part").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bytes_in_flight_past_the_backlog_hold_reading_back() {
        let dir = scratch("backlog");
        let mut writer = DownloadWriter::create(dir.join("out.bin"));
        // Holding the state's lock stands for a writer that is busy.
        let shared = Arc::clone(&writer.shared);
        let held = shared.file.lock().unwrap();
        let piece = Bytes::from(vec![0u8; 1 << 20]);
        for _ in 0..5 {
            writer.write(piece.clone()).unwrap();
        }
        assert!(writer.backlogged());
        drop(held);
        committed(&mut writer).unwrap();
        assert!(!writer.backlogged());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
