//! A real MQTT broker for fleet tests: mosquitto on a free loopback port, with its
//! persistence on (a station's session survives a broker restart), and the Debian
//! `mosquitto_sub` / `mosquitto_pub` clients as the province without loaxa.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mosquitto {
    pub port: u16,
    /// A second listener's port (`start_from`), else 0.
    pub second_port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        Self::start_with("")
    }

    /// `extra`: more mosquitto.conf lines (an ACL file, a password file…).
    pub fn start_with(extra: &str) -> Mosquitto {
        Self::start_from(|dir, port, _| {
            let d = dir.display();
            format!(
                "user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {d}/\nlog_dest file {d}/mosquitto.log\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n{extra}\n"
            )
        })
    }

    /// A whole mosquitto.conf of `conf(dir, port, second_port)`'s making.
    pub fn start_from(conf: impl Fn(&Path, u16, u16) -> String) -> Mosquitto {
        // A free port can be taken between the probe and mosquitto's bind: try another.
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let (port, second_port) = (super::free_port(), super::free_port());
            std::fs::write(
                dir.path().join("mosquitto.conf"),
                conf(dir.path(), port, second_port),
            )
            .unwrap();
            let mut m = Mosquitto {
                port,
                second_port,
                dir,
                child: None,
            };
            if m.spawn() {
                return m;
            }
        }
        panic!("mosquitto did not start");
    }

    fn spawn(&mut self) -> bool {
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("stderr.log")).unwrap())
            .spawn()
            .expect("mosquitto is needed (scripts/install-deps)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (mosquitto saves its sessions), and waits for the exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port, with the saved sessions.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.spawn() {
            assert!(Instant::now() < deadline, "mosquitto did not restart");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        read("stderr.log") + &read("mosquitto.log")
    }

    /// `mosquitto_sub` or `mosquitto_pub` speaking MQTT 5 to this broker's first
    /// listener; add the rest of the arguments.
    pub fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-V",
            "mqttv5",
        ]);
        c
    }

    /// Publishes with `mosquitto_pub` (QoS 1).
    pub fn publish(&self, topic: &str, payload: &[u8], retain: bool) {
        let file = self.dir.path().join("payload");
        std::fs::write(&file, payload).unwrap();
        let mut args = vec![
            "-h".to_string(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string(),
            "-q".into(),
            "1".into(),
            "-t".into(),
            topic.into(),
            "-f".into(),
            file.to_str().unwrap().into(),
        ];
        if retain {
            args.push("-r".into());
        }
        let out = Command::new("mosquitto_pub").args(&args).output().unwrap();
        assert!(out.status.success(), "mosquitto_pub: {out:?}");
    }

    /// `mosquitto_sub -v` on `topic`, into a file read by `Sub::lines`.
    pub fn subscribe(&self, topic: &str) -> Sub {
        let path = self
            .dir
            .path()
            .join(format!("sub-{}.txt", super::free_port()));
        let child = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-q", "1", "-v", "-t", topic])
            .stdout(std::fs::File::create(&path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Subscribed once the broker logs it; a short wait is enough on loopback.
        std::thread::sleep(Duration::from_millis(300));
        Sub { child, path }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct Sub {
    child: Child,
    path: PathBuf,
}

impl Sub {
    /// (topic, payload as JSON) of every message so far.
    pub fn messages(&self) -> Vec<(String, serde_json::Value)> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (topic, payload) = l.split_once(' ')?;
                Some((
                    topic.to_string(),
                    serde_json::from_str(payload).unwrap_or(serde_json::Value::Null),
                ))
            })
            .collect()
    }

    /// Waits until `pred` holds for the messages so far, or panics after `secs`.
    pub fn wait_for(
        &self,
        secs: u64,
        what: &str,
        pred: impl Fn(&[(String, serde_json::Value)]) -> bool,
    ) -> Vec<(String, serde_json::Value)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let m = self.messages();
            if pred(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; messages so far:\n{m:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
