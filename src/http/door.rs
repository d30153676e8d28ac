//! The API's front door: how many connections the station holds, and for how long.
//!
//! Anyone who can reach the port can open connections, so each one costs the station a
//! bounded amount and can be taken back (SPEC §11):
//! - at most `max_connections` at once, and `per_client` from one address;
//! - a connection must send a complete request head within `head_timeout` of opening (or
//!   of the first byte of a later request on it), and is closed after `idle_timeout`
//!   with nothing to do between requests;
//! - when the house is full, the newcomer takes the place of the connection that has
//!   waited longest without sending a request (from the same address first). A flood of
//!   idle connections therefore cannot keep a real client out: a client that sends its
//!   request at once is served, and only connections that send nothing are shed.
//!
//! Request bodies have their own pace rule (see `push`): a slow sender is cut there.
//! HTTP/1.1 only: nothing here needs HTTP/2, and its streams would need limits of their own.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What one connection may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub per_client: usize,
    pub head_timeout: Duration,
    pub idle_timeout: Duration,
    /// The largest request head (start line and headers) read.
    pub max_head_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            per_client: 32,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_head_bytes: 16 * 1024,
        }
    }
}

/// Counts the door keeps for `/metrics`.
#[derive(Debug, Default)]
pub struct DoorCounts {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    /// Newcomers turned away because every place was taken by a busy request.
    pub refused: AtomicU64,
    /// Idle connections closed to make room for a newcomer.
    pub shed: AtomicU64,
    /// Closed for sending no request head in time, or idling too long.
    pub timed_out: AtomicU64,
}

/// One connection's life, shared by its reader and its watchdog. Times are milliseconds
/// since the door opened (0 = never).
struct ConnState {
    opened: u64,
    /// When it last started waiting for a request head.
    waiting_since: AtomicU64,
    /// First byte of the awaited head, if any came.
    first_byte: AtomicU64,
    in_request: AtomicBool,
    served: AtomicBool,
    changed: Notify,
}

struct Entry {
    id: u64,
    ip: IpAddr,
    state: Arc<ConnState>,
    close: CancellationToken,
}

struct Registry {
    entries: Vec<Entry>,
    next_id: u64,
}

pub struct Door {
    limits: Limits,
    epoch: Instant,
    registry: Mutex<Registry>,
    pub counts: DoorCounts,
}

impl Door {
    pub fn new(limits: Limits) -> Arc<Door> {
        Arc::new(Door {
            limits,
            epoch: Instant::now(),
            registry: Mutex::new(Registry {
                entries: Vec::new(),
                next_id: 1,
            }),
            counts: DoorCounts::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Accepts connections until `stop`, serving each with `serve` (which gets the
    /// connection and its hooks). Returns when stopped; connections still open are closed.
    pub async fn run<F, Fut>(
        self: Arc<Door>,
        listener: TcpListener,
        stop: CancellationToken,
        serve: F,
    ) where
        F: Fn(TokioIo<Watched>, SocketAddr) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                a = listener.accept() => a,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!("HTTP API: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some((id, state, close)) = self.admit(peer.ip()) else {
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                drop(stream);
                continue;
            };
            self.counts.accepted.fetch_add(1, Ordering::Relaxed);
            self.counts.open.fetch_add(1, Ordering::Relaxed);
            let door = self.clone();
            let serve = serve.clone();
            tasks.spawn(async move {
                let io = TokioIo::new(Watched {
                    inner: stream,
                    state: state.clone(),
                    door: door.clone(),
                });
                let why = tokio::select! {
                    _ = serve(io, peer) => None,
                    _ = close.cancelled() => None,
                    why = door.watch(&state) => Some(why),
                };
                if let Some(why) = why {
                    tracing::debug!("HTTP API: closing {peer}: {why}");
                    door.counts.timed_out.fetch_add(1, Ordering::Relaxed);
                }
                door.forget(id);
                door.counts.open.fetch_sub(1, Ordering::Relaxed);
            });
            // A shed connection is closed by its own task: wait for it before accepting
            // more, so the sockets held never run ahead of the cap.
            while tasks.len() > self.limits.max_connections {
                if tasks.join_next().await.is_none() {
                    break;
                }
            }
        }
        tasks.shutdown().await;
    }

    /// Makes room for a newcomer from `ip`, or says there is none.
    fn admit(&self, ip: IpAddr) -> Option<(u64, Arc<ConnState>, CancellationToken)> {
        let mut reg = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = reg.entries.iter().filter(|e| e.ip == ip).count();
        if from_ip >= self.limits.per_client && !self.shed_one(&mut reg, Some(ip)) {
            return None;
        }
        if reg.entries.len() >= self.limits.max_connections && !self.shed_one(&mut reg, None) {
            return None;
        }
        let now = self.now_ms();
        let state = Arc::new(ConnState {
            opened: now,
            waiting_since: AtomicU64::new(now),
            first_byte: AtomicU64::new(0),
            in_request: AtomicBool::new(false),
            served: AtomicBool::new(false),
            changed: Notify::new(),
        });
        let close = CancellationToken::new();
        let id = reg.next_id;
        reg.next_id += 1;
        reg.entries.push(Entry {
            id,
            ip,
            state: state.clone(),
            close: close.clone(),
        });
        Some((id, state, close))
    }

    /// Closes the connection (of `ip`, or any) that has waited longest for a request.
    fn shed_one(&self, reg: &mut Registry, ip: Option<IpAddr>) -> bool {
        let oldest = reg
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| ip.is_none_or(|ip| e.ip == ip))
            .filter(|(_, e)| !e.state.in_request.load(Ordering::Relaxed))
            .min_by_key(|(_, e)| e.state.waiting_since.load(Ordering::Relaxed))
            .map(|(i, _)| i);
        match oldest {
            Some(i) => {
                let e = reg.entries.swap_remove(i);
                e.close.cancel();
                self.counts.shed.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    fn forget(&self, id: u64) {
        let mut reg = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        reg.entries.retain(|e| e.id != id);
    }

    /// When the connection must have done something by, or `None` while a request runs.
    fn deadline(&self, s: &ConnState) -> Option<u64> {
        if s.in_request.load(Ordering::Acquire) {
            return None;
        }
        let head = self.limits.head_timeout.as_millis() as u64;
        let idle = self.limits.idle_timeout.as_millis() as u64;
        let first = s.first_byte.load(Ordering::Acquire);
        Some(if !s.served.load(Ordering::Acquire) {
            s.opened + head
        } else if first != 0 {
            first + head
        } else {
            s.waiting_since.load(Ordering::Acquire) + idle
        })
    }

    /// Resolves when the connection has overstayed: no request head in time, or idle.
    async fn watch(&self, s: &ConnState) -> &'static str {
        loop {
            let changed = s.changed.notified();
            match self.deadline(s) {
                None => changed.await,
                Some(due) => {
                    let now = self.now_ms();
                    if now >= due {
                        return if s.first_byte.load(Ordering::Acquire) != 0
                            || !s.served.load(Ordering::Acquire)
                        {
                            "no complete request head in time"
                        } else {
                            "idle too long"
                        };
                    }
                    let sleep = tokio::time::sleep(Duration::from_millis(due - now));
                    tokio::select! {
                        _ = sleep => {}
                        _ = changed => {}
                    }
                }
            }
        }
    }
}

/// Marks a connection busy while one of its requests is handled; built by the service.
pub struct RequestGuard {
    state: Arc<ConnState>,
    door: Arc<Door>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let s = &self.state;
        s.waiting_since.store(self.door.now_ms(), Ordering::Release);
        s.first_byte.store(0, Ordering::Release);
        s.served.store(true, Ordering::Release);
        s.in_request.store(false, Ordering::Release);
        s.changed.notify_one();
    }
}

/// The connection's socket, watched: its first byte after an idle spell starts the
/// head timeout.
pub struct Watched {
    inner: TcpStream,
    state: Arc<ConnState>,
    door: Arc<Door>,
}

impl Watched {
    /// A handle the service keeps to mark requests (the socket itself goes to hyper).
    pub fn marker(&self) -> RequestMarker {
        RequestMarker {
            state: self.state.clone(),
            door: self.door.clone(),
        }
    }
}

/// Marks requests on one connection from inside its service.
#[derive(Clone)]
pub struct RequestMarker {
    state: Arc<ConnState>,
    door: Arc<Door>,
}

impl RequestMarker {
    pub fn begin(&self) -> RequestGuard {
        self.state.in_request.store(true, Ordering::Release);
        self.state.changed.notify_one();
        RequestGuard {
            state: self.state.clone(),
            door: self.door.clone(),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && !self.state.in_request.load(Ordering::Relaxed)
            && self.state.first_byte.load(Ordering::Relaxed) == 0
        {
            self.state
                .first_byte
                .store(self.door.now_ms(), Ordering::Release);
            self.state.changed.notify_one();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A client socket is closed by the door: reading it ends (EOF or reset) in time.
    fn closed_within(s: &mut std::net::TcpStream, d: Duration) -> bool {
        s.set_read_timeout(Some(d)).unwrap();
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Ok(0) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    }

    #[test]
    fn newcomers_shed_the_longest_idle_and_silent_connections_time_out() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let door = Door::new(Limits {
            max_connections: 3,
            per_client: 2,
            head_timeout: Duration::from_millis(800),
            idle_timeout: Duration::from_secs(5),
            max_head_bytes: 8192,
        });
        let stop = CancellationToken::new();
        let running = {
            let (door, stop) = (door.clone(), stop.clone());
            std::thread::spawn(move || {
                rt.block_on(door.run(listener, stop, |io, _| async move {
                    // Holds the connection, reading nothing: an idle client.
                    let _io = io;
                    std::future::pending::<()>().await
                }))
            })
        };
        let connect = || std::net::TcpStream::connect(addr).unwrap();
        let mut first = connect();
        std::thread::sleep(Duration::from_millis(50));
        let mut second = connect();
        std::thread::sleep(Duration::from_millis(50));
        let mut third = connect();
        // Two from one address at most: the oldest made room.
        assert!(closed_within(&mut first, Duration::from_millis(300)));
        assert!(!closed_within(&mut second, Duration::from_millis(100)));
        // Nobody sent a request head: all closed by the head timeout.
        assert!(closed_within(&mut second, Duration::from_secs(2)));
        assert!(closed_within(&mut third, Duration::from_secs(2)));
        // (The counts are kept just after the socket closes.)
        std::thread::sleep(Duration::from_millis(100));
        assert!(door.counts.shed.load(Ordering::Relaxed) >= 1);
        assert!(door.counts.timed_out.load(Ordering::Relaxed) >= 2);
        assert_eq!(door.counts.open.load(Ordering::Relaxed), 0);
        stop.cancel();
        // Wake the accept loop so it sees the stop.
        drop(std::net::TcpStream::connect(addr));
        running.join().unwrap();
    }
}
