//! Writes the broadcast must not wait for, on a thread of their own: as-run records
//! (each fsynced: the proof must survive a power cut) and the status file. The playout
//! thread sends and goes on writing audio; a slow or full disk delays the proof, never
//! the sound.
//!
//! Records are written in the order sent. Of several status updates waiting, only the
//! newest is written. `finish` writes what is queued and joins the thread.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use super::Store;
use super::asrun::AsRunLog;
use crate::core::asrun::Record;
use crate::core::status::Status;

enum Write {
    Record(Box<Record>),
    Status(Box<Status>),
}

pub struct Writer {
    tx: Option<Sender<Write>>,
    worker: Option<JoinHandle<()>>,
    /// Used in place of the thread if it could not be started.
    fallback: Option<(Arc<AsRunLog>, Store)>,
}

impl Writer {
    pub fn start(log: Arc<AsRunLog>, store: Store) -> Writer {
        let (tx, rx) = mpsc::channel();
        let (log2, store2) = (log.clone(), store.clone());
        match std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || work(rx, &log2, &store2))
        {
            Ok(worker) => Writer {
                tx: Some(tx),
                worker: Some(worker),
                fallback: None,
            },
            Err(e) => {
                tracing::warn!("no writer thread ({e}): the playout writes its records itself");
                Writer {
                    tx: None,
                    worker: None,
                    fallback: Some((log, store)),
                }
            }
        }
    }

    pub fn record(&self, record: Record) {
        self.send(Write::Record(Box::new(record)));
    }

    pub fn status(&self, status: Status) {
        self.send(Write::Status(Box::new(status)));
    }

    fn send(&self, w: Write) {
        let w = match &self.tx {
            Some(tx) => match tx.send(w) {
                Ok(()) => return,
                Err(mpsc::SendError(w)) => w,
            },
            None => w,
        };
        if let Some((log, store)) = &self.fallback {
            write(w, log, store);
        }
    }

    /// Writes everything sent so far, then stops the thread (as dropping it does).
    pub fn finish(self) {}
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn work(rx: Receiver<Write>, log: &AsRunLog, store: &Store) {
    while let Ok(first) = rx.recv() {
        // Take what else is waiting; a status superseded by a newer one is not written.
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let newest_status = batch.iter().rposition(|w| matches!(w, Write::Status(_)));
        for (i, w) in batch.into_iter().enumerate() {
            if matches!(w, Write::Status(_)) && Some(i) != newest_status {
                continue;
            }
            write(w, log, store);
        }
    }
}

fn write(w: Write, log: &AsRunLog, store: &Store) {
    match w {
        Write::Record(r) => log.log(&r),
        Write::Status(s) => {
            if let Err(e) = store.write_status(&s) {
                tracing::warn!("status file not written: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::asrun::Event;
    use chrono::TimeZone;

    #[test]
    fn records_arrive_in_order_and_all_are_written_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        store.create().unwrap();
        let log = Arc::new(AsRunLog::new(&store));
        let writer = Writer::start(log, store.clone());
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let t0 = tz.with_ymd_and_hms(2021, 10, 1, 5, 30, 0).unwrap();
        for n in 0..500 {
            let r = Record::new(t0 + chrono::TimeDelta::milliseconds(n), Event::AmpOn)
                .reason(format!("n{n}"));
            writer.record(r);
        }
        writer.finish();
        let read = store.read_day(t0.date_naive(), tz);
        assert_eq!(read.len(), 500);
        for (n, r) in read.iter().enumerate() {
            assert_eq!(r.reason.as_deref(), Some(format!("n{n}").as_str()));
        }
    }
}
