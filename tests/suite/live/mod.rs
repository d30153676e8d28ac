//! Helpers for tests that run the real daemon: a private PulseAudio server with a null
//! sink, tone files made by real encoders, the daemon as a child process, and tone
//! detection in recordings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

/// The loaxa binary under test.
pub fn loaxa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(args)
        .output()
        .unwrap()
}

/// The loaxa binary under test, which must succeed.
pub fn loaxa_ok(args: &[&str]) {
    let out = loaxa(args);
    assert!(
        out.status.success(),
        "loaxa {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (scripts/install-deps): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ffmpeg's decoded length in ms (it drops encoder delay and padding the file records).
pub fn ffmpeg_ms(path: &Path) -> i64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    (out.stdout.len() as i64 / 2) * 1000 / 48000
}

/// A sine tone of `secs` seconds, encoded by the encoder its extension names.
pub fn tone(path: &Path, freq: u32, secs: f64) {
    let wav = path.with_extension("src.wav");
    let (w, p) = (wav.to_str().unwrap(), path.to_str().unwrap());
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "1",
            "-b",
            "16",
            w,
            "synth",
            &secs.to_string(),
            "sine",
            &freq.to_string(),
            "vol",
            "0.5",
        ],
    );
    match path.extension().and_then(|e| e.to_str()) {
        Some("mp3") => run("lame", &["--quiet", "-b", "128", w, p]),
        Some("ogg") => run("oggenc", &["--quiet", "-o", p, w]),
        Some("flac") => run("flac", &["--silent", "-f", "-o", p, w]),
        Some("m4a") => run("ffmpeg", &["-v", "error", "-y", "-i", w, "-c:a", "aac", p]),
        _ => run("sox", &[w, p]),
    }
    std::fs::remove_file(&wav).unwrap();
}

/// How many tests may hold a sound server at once. The suite runs many tests side by
/// side (.cargo/config.toml), most of them only waiting; those that play and record real
/// audio in real time are limited, so that two cores keep every sound server on time and
/// what they measure (latency, what was heard) is the station's, not the machine's load.
const SOUND_SERVERS: usize = 3;

static SOUND_SLOTS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
static SOUND_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// One of the `SOUND_SERVERS` places, held as long as its `Pulse`.
struct SoundSlot;

impl SoundSlot {
    fn take() -> SoundSlot {
        let mut held = SOUND_SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        while *held >= SOUND_SERVERS {
            held = SOUND_FREED.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += 1;
        SoundSlot
    }
}

impl Drop for SoundSlot {
    fn drop(&mut self) {
        *SOUND_SLOTS.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        SOUND_FREED.notify_one();
    }
}

/// A PulseAudio server of the test's own, with a null sink "amp" paced like a card.
pub struct Pulse {
    pub dir: tempfile::TempDir,
    child: Child,
    _slot: SoundSlot,
}

impl Pulse {
    pub fn start() -> Pulse {
        let slot = SoundSlot::take();
        let dir = tempfile::tempdir().unwrap();
        let child = Self::spawn(dir.path());
        let pulse = Pulse {
            dir,
            child,
            _slot: slot,
        };
        pulse.wait_ready();
        pulse
    }

    /// The sound server vanishes (as a USB card unplugged would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// And comes back on the same socket.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(self.dir.path());
        self.wait_ready();
    }

    fn spawn(dir: &Path) -> Child {
        let socket = dir.join("native");
        let _ = std::fs::remove_file(&socket);
        Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "-n",
                "--use-pid-file=no",
                "--disable-shm=yes",
            ])
            .arg("--load=module-null-sink sink_name=amp rate=48000")
            .arg(format!(
                "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                socket.display()
            ))
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio is needed (scripts/install-deps)")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Command::new("pactl")
            .arg("info")
            .env("PULSE_SERVER", self.server())
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "pulseaudio did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn server(&self) -> String {
        format!("unix:{}", self.dir.path().join("native").display())
    }

    /// Runs `pactl` against this server; its output, trimmed.
    pub fn pactl(&self, args: &[&str]) -> String {
        let out = Command::new("pactl")
            .args(args)
            .env("PULSE_SERVER", self.server())
            .output()
            .unwrap();
        assert!(out.status.success(), "pactl {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Records the sink's monitor to a WAV file until the returned child is killed.
    pub fn record(&self, to: &Path) -> Child {
        Command::new("parec")
            .args([
                "-d",
                "amp.monitor",
                "--file-format=wav",
                "--rate=48000",
                "--channels=1",
                "--format=s16le",
            ])
            .arg(to)
            .env("PULSE_SERVER", self.server())
            .spawn()
            .expect("parec is needed (pulseaudio-utils)")
    }
}

impl Pulse {
    /// Starts recording the sink: parec writes raw samples to a pipe, and each chunk is
    /// stamped with the time it arrives, so a recorder that starts late, stalls under
    /// load or drops samples does not shift the heard times (see `Recorder::stop`).
    pub fn recorder(&self, to: &Path) -> Recorder {
        let mut child = Command::new("parec")
            .args([
                "-d",
                "amp.monitor",
                "--rate=48000",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=10",
            ])
            .env("PULSE_SERVER", self.server())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("parec is needed (pulseaudio-utils)");
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut chunks = Vec::new();
            let mut buf = vec![0u8; 9600];
            let mut odd: Option<u8> = None;
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let at = SystemTime::now();
                let mut bytes: Vec<u8> = odd.take().into_iter().collect();
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    odd = bytes.pop();
                }
                let samples: Vec<f32> = bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                    .collect();
                chunks.push((at, samples));
            }
            chunks
        });
        std::thread::sleep(Duration::from_millis(300));
        Recorder {
            child,
            reader: Some(reader),
            path: to.to_path_buf(),
        }
    }
}

/// Samples as read from parec, with the time they arrived.
pub type Chunk = (SystemTime, Vec<f32>);

/// parec recording the sink's monitor, chunk by chunk.
pub struct Recorder {
    child: Child,
    reader: Option<std::thread::JoinHandle<Vec<Chunk>>>,
    path: PathBuf,
}

pub const RECORD_RATE: u32 = 48_000;

impl Recorder {
    /// Lets the last audio through, stops parec, and lays the chunks on the daemon's
    /// rehearsal clock by their arrival stamps (also written to the recorder's WAV path).
    pub fn stop(mut self, daemon: &Daemon) -> Heard {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let chunks = self.reader.take().unwrap().join().unwrap();
        let (zero, samples) = lay_out(&chunks, RECORD_RATE);
        write_wav(&self.path, RECORD_RATE, &samples);
        let zero = daemon.start_at
            + chrono::TimeDelta::from_std(zero.duration_since(daemon.spawned).unwrap_or_default())
                .unwrap();
        Heard {
            rate: RECORD_RATE,
            samples,
            zero,
        }
    }
}

/// Lays stamped chunks on a timeline. A chunk arrives at least a fixed pipe delay after
/// its samples were captured, and later when the reader was slow: each chunk's delay is
/// taken as the smallest delay of it and every chunk after it. A reader that was merely
/// late is thus ignored (later chunks show the short delay again), while samples that were
/// dropped (every later chunk shifted) become silence of their length. Returns the time
/// of the first sample and the samples.
pub fn lay_out(chunks: &[Chunk], rate: u32) -> (SystemTime, Vec<f32>) {
    let Some((t_ref, _)) = chunks.first() else {
        return (SystemTime::now(), Vec::new());
    };
    let secs = |t: &SystemTime| match t.duration_since(*t_ref) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    // Delay of each chunk's last sample, in samples, against a steady stream.
    let mut end = 0i64;
    let mut delays = Vec::with_capacity(chunks.len());
    for (t, c) in chunks {
        end += c.len() as i64;
        delays.push((secs(t) * f64::from(rate)).round() as i64 - end);
    }
    let mut floor = vec![0i64; delays.len()];
    let mut m = i64::MAX;
    for i in (0..delays.len()).rev() {
        m = m.min(delays[i]);
        floor[i] = m;
    }
    let mut out = Vec::new();
    for (i, (_, c)) in chunks.iter().enumerate() {
        let gap = floor[i] - floor[0] - (out.len() as i64 - (delays_prefix(chunks, i) as i64));
        if gap > 0 {
            out.resize(out.len() + gap as usize, 0.0);
        }
        out.extend_from_slice(c);
    }
    let zero_secs = floor[0] as f64 / f64::from(rate);
    let zero = if zero_secs >= 0.0 {
        *t_ref + Duration::from_secs_f64(zero_secs)
    } else {
        *t_ref - Duration::from_secs_f64(-zero_secs)
    };
    (zero, out)
}

/// Samples in the chunks before `i`.
fn delays_prefix(chunks: &[Chunk], i: usize) -> usize {
    chunks[..i].iter().map(|(_, c)| c.len()).sum()
}

/// A 16-bit mono WAV of `samples`.
pub fn write_wav(path: &Path, rate: u32, samples: &[f32]) {
    let mut b = Vec::with_capacity(44 + samples.len() * 2);
    let data = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

/// A recording, mono, with the rehearsal-clock time of its first sample.
pub struct Heard {
    pub rate: u32,
    pub samples: Vec<f32>,
    pub zero: DateTime<FixedOffset>,
}

impl Heard {
    /// The sample heard at `t`.
    pub fn index(&self, t: DateTime<FixedOffset>) -> usize {
        ((t - self.zero).num_milliseconds().max(0) as usize * self.rate as usize / 1000)
            .min(self.samples.len())
    }

    /// When the sample `secs` into the recording was heard.
    pub fn time(&self, secs: f64) -> DateTime<FixedOffset> {
        self.zero + chrono::TimeDelta::milliseconds((secs * 1000.0) as i64)
    }

    /// What was heard from `a` to `b`.
    pub fn between(&self, a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> &[f32] {
        &self.samples[self.index(a)..self.index(b)]
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nobody listens on (the OS's pick), for a daemon's API.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A config dir for a test station.
pub struct Station {
    pub dir: tempfile::TempDir,
}

impl Station {
    /// `output` is the `[audio] output` value; the amplifier is a script that logs to amp.log.
    pub fn new(output: &str, schedule: &str) -> Station {
        let dir = tempfile::tempdir().unwrap();
        let station = Station { dir };
        station.write_amp_script("exit 0");
        std::fs::write(
            station.path("station.toml"),
            format!(
                "station_id = \"test\"\n[paths]\nstate = \"state\"\n[audio]\noutput = \"{output}\"\n[amplifier]\non = [\"./amp\", \"on\"]\noff = [\"./amp\", \"off\"]\nwarmup = \"1s\"\n[api]\nlisten = \"127.0.0.1:{}\"\n",
                free_port()
            ),
        )
        .unwrap();
        std::fs::write(station.path("schedule.toml"), schedule).unwrap();
        station
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The daemon's HTTP API, as station.toml's `[api] listen` names it.
    pub fn api(&self) -> String {
        let toml = std::fs::read_to_string(self.path("station.toml")).unwrap();
        let listen = toml
            .lines()
            .find_map(|l| l.strip_prefix("listen = \""))
            .unwrap()
            .trim_end_matches('"');
        format!("http://{listen}")
    }

    /// Appends TOML tables to station.toml.
    pub fn add_station_toml(&self, tables: &str) {
        let path = self.path("station.toml");
        let mut toml = std::fs::read_to_string(&path).unwrap();
        toml.push_str(tables);
        std::fs::write(path, toml).unwrap();
    }

    /// The amplifier stand-in: logs its argument, then runs `tail` (e.g. `exit 1`).
    pub fn write_amp_script(&self, tail: &str) {
        let script = self.path("amp");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$1\" >> \"$(dirname \"$0\")/amp.log\"\n{tail}\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    pub fn asrun(&self, date: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path(&format!("state/asrun/{date}.jsonl")))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad as-run line {l}: {e}")))
            .collect()
    }

    /// Waits until an as-run record matches, or panics after `secs`.
    pub fn wait_for(
        &self,
        date: &str,
        secs: u64,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let log = self.asrun(date);
            if log.iter().any(&pred) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; as-run so far:\n{}",
                show(&log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn show(log: &[Value]) -> String {
    log.iter().map(|r| format!("  {r}\n")).collect()
}

/// `loaxa run` as a child process.
pub struct Daemon {
    pub child: Child,
    /// Real time just before the spawn: the rehearsal clock's zero.
    pub spawned: SystemTime,
    pub start_at: DateTime<FixedOffset>,
}

impl Daemon {
    pub fn start(station: &Station, start_at: &str, pulse: Option<&Pulse>) -> Daemon {
        Self::start_under(station, start_at, pulse, &[])
    }

    /// Like `start`, run under `wrapper` (e.g. `prlimit --nofile=1024 --`).
    pub fn start_under(
        station: &Station,
        start_at: &str,
        pulse: Option<&Pulse>,
        wrapper: &[&str],
    ) -> Daemon {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_loaxa"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_loaxa")),
        };
        cmd.args([
            "--config",
            station.dir.path().to_str().unwrap(),
            "run",
            "--start-at",
            start_at,
        ]);
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(station.path("daemon.log")).unwrap());
        if let Some(p) = pulse {
            cmd.env("PULSE_SERVER", p.server());
        }
        let spawned = SystemTime::now();
        let child = cmd.spawn().unwrap();
        Daemon {
            child,
            spawned,
            start_at: DateTime::parse_from_rfc3339(start_at).unwrap(),
        }
    }

    /// What the rehearsal clock reads now.
    pub fn rehearsal_now(&self) -> DateTime<FixedOffset> {
        let elapsed = SystemTime::now().duration_since(self.spawned).unwrap();
        self.start_at + chrono::TimeDelta::from_std(elapsed).unwrap()
    }

    pub fn signal(&self, sig: &str) {
        run("kill", &[&format!("-{sig}"), &self.child.id().to_string()]);
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mono samples of a 16-bit PCM WAV file (header sizes may be unfinished, as parec leaves them).
pub fn read_wav(path: &Path) -> (u32, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]) as usize;
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let samples = bytes[data..]
        .chunks_exact(2 * channels)
        .map(|f| i16::from_le_bytes([f[0], f[1]]) as f32 / 32768.0)
        .collect();
    (rate, samples)
}

/// A stretch of the recording where one known tone dominates.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub freq: u32,
    pub start: f64,
    pub end: f64,
}

/// Splits a recording into segments of the known tones, in 10 ms windows (Goertzel).
pub fn tone_segments(rate: u32, samples: &[f32], freqs: &[u32]) -> Vec<Segment> {
    let win = (rate / 100) as usize;
    let mut labels = Vec::new();
    for chunk in samples.chunks(win) {
        let rms = (chunk.iter().map(|s| s * s).sum::<f32>() / chunk.len() as f32).sqrt();
        let powers: Vec<f32> = freqs.iter().map(|f| goertzel(chunk, rate, *f)).collect();
        let (best, p) =
            powers.iter().enumerate().fold(
                (0, 0.0f32),
                |acc, (i, p)| if *p > acc.1 { (i, *p) } else { acc },
            );
        let second = powers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, p)| *p)
            .fold(0.0, f32::max);
        labels.push((rms > 0.02 && p > 4.0 * second).then_some(freqs[best]));
    }
    let mut out: Vec<Segment> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let t = i as f64 * 0.01;
        match (label, out.last_mut()) {
            (Some(f), Some(last)) if last.freq == *f && t - last.end < 0.05 => last.end = t + 0.01,
            (Some(f), _) => out.push(Segment {
                freq: *f,
                start: t,
                end: t + 0.01,
            }),
            (None, _) => {}
        }
    }
    // Drop blips shorter than 100 ms (window edges between two tones).
    out.retain(|s| s.end - s.start >= 0.1);
    out
}

fn goertzel(chunk: &[f32], rate: u32, freq: u32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq as f32 / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for x in chunk {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// An as-run record's time as an instant.
pub fn ts(r: &Value, key: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(r[key].as_str().unwrap_or_else(|| panic!("no {key} in {r}")))
        .unwrap()
}

/// An nginx of the test's own on 127.0.0.1, serving `root`; `/slow/…` serves the same
/// files at 20 kB/s. Its access log says what was fetched, with status and bytes.
pub struct Nginx {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

fn spawn_nginx(dir: &Path) -> Child {
    Command::new("nginx")
        .args([
            "-p",
            dir.to_str().unwrap(),
            "-c",
            dir.join("nginx.conf").to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx is needed (scripts/install-deps)")
}

impl Nginx {
    pub fn start(root: &Path) -> Nginx {
        Self::start_with(root, "")
    }

    /// Like `start`, with `extra` in the server block (e.g. a location that fails).
    pub fn start_with(root: &Path, extra: &str) -> Nginx {
        // A free port can be taken by a parallel test's server between our probe and
        // nginx's bind: then our nginx exits, and we try another port.
        for _ in 0..10 {
            if let Some(n) = Self::try_start(root, extra) {
                return n;
            }
        }
        panic!("nginx did not start");
    }

    fn try_start(root: &Path, extra: &str) -> Option<Nginx> {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{}}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
               types {{ application/json json; audio/mpeg mp3; }}\n\
               server {{ listen 127.0.0.1:{port}; root {root};\n    location /slow/ {{ alias {root}/; limit_rate 20k; }}\n    {extra}\n  }}\n}}\n",
            root = root.display()
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let mut child = Command::new("nginx")
            .args([
                "-p",
                dir.path().to_str().unwrap(),
                "-c",
                dir.path().join("nginx.conf").to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is needed (scripts/install-deps)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if child.try_wait().unwrap().is_some() {
                return None;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
                if child.try_wait().unwrap().is_none() {
                    return Some(Nginx { port, dir, child });
                }
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server dies mid-transfer (connections cut)…
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// …and comes back on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_nginx(self.dir.path());
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Like `requests`, waiting (up to 2 s) until there are at least `before + n`: nginx
    /// writes a request's log line just after the client has its answer.
    pub fn requests_after(&self, before: usize, n: usize) -> Vec<(String, u16, u64)> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let all = self.requests();
            if all.len() >= before + n || Instant::now() > deadline {
                return all;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// (request line, status, bytes sent) for each request so far.
    pub fn requests(&self) -> Vec<(String, u16, u64)> {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let req = l.split('"').nth(1)?.to_string();
                let mut rest = l.split('"').nth(2)?.split_whitespace();
                Some((req, rest.next()?.parse().ok()?, rest.next()?.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub mod browser;
pub mod fleet;
pub mod mqtt;
pub mod playout;
pub mod push;
