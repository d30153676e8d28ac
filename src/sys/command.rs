//! Running the station's helper programs (amplifier relay, speech engine): without a
//! shell, with a time limit, and with their own words when they fail.
//!
//! Two runners with one meaning: `run` blocks its thread (the speech engine, `loaxa
//! play`'s sound check), `run_async` is a task on the daemon's runtime (the amplifier).

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// At most this much of a failed program's standard error is kept for the message.
const MAX_STDERR: u64 = 4096;
/// How long a failed program's standard error is waited for after it exited.
const STDERR_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("{program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} exited with {status}{}", stderr_part(.stderr))]
    Exit {
        program: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error("{program} did not finish in {}s", .timeout.as_secs())]
    Timeout { program: String, timeout: Duration },
    #[error("{program}: cannot wait for it: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

fn stderr_part(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// The first `MAX_STDERR` bytes of what a program wrote to its standard error, trimmed.
fn said(bytes: &[u8]) -> String {
    let end = bytes.len().min(MAX_STDERR as usize);
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

fn split(argv: &[String]) -> Result<(&String, &[String]), CommandError> {
    argv.split_first().ok_or(CommandError::Empty)
}

/// Runs `argv` (program, then arguments), writing `input` to its standard input. Fails
/// with its exit status and standard error, or when it runs longer than `timeout` (it is
/// killed then).
pub fn run(argv: &[String], input: Option<&[u8]>, timeout: Duration) -> Result<(), CommandError> {
    let (program, args) = split(argv)?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CommandError::Spawn {
            program: program.clone(),
            source,
        })?;
    // Standard error is read as it comes, so a chatty program never fills the pipe and
    // stalls; a grandchild that keeps the pipe open cannot hold us either.
    let (kept_tx, kept) = std::sync::mpsc::channel();
    if let Some(mut e) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut first = Vec::new();
            let _ = (&mut e).take(MAX_STDERR).read_to_end(&mut first);
            let _ = kept_tx.send(first);
            let _ = std::io::copy(&mut e, &mut std::io::sink());
        });
    }
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A program that quits early closes its input: its exit status says why.
        let _ = stdin.write_all(bytes);
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let err = kept.recv_timeout(STDERR_WAIT).unwrap_or_default();
                return Err(CommandError::Exit {
                    program: program.clone(),
                    status,
                    stderr: said(&err),
                });
            }
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandError::Timeout {
                    program: program.clone(),
                    timeout,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => {
                return Err(CommandError::Wait {
                    program: program.clone(),
                    source,
                });
            }
        }
    }
}

/// `run` with no input, as a task: the program is waited for by the runtime, and killed
/// when it runs longer than `timeout` or the task is dropped (`kill_on_drop`).
pub async fn run_async(argv: &[String], timeout: Duration) -> Result<(), CommandError> {
    let (program, args) = split(argv)?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| CommandError::Spawn {
            program: program.clone(),
            source,
        })?;
    let stderr = child.stderr.take();
    let reading = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut first = Vec::new();
        if let Some(mut e) = stderr {
            let _ = (&mut e).take(MAX_STDERR).read_to_end(&mut first).await;
            // The rest is read and dropped, so the program never stalls on a full pipe.
            let _ = tokio::io::copy(&mut e, &mut tokio::io::sink()).await;
        }
        first
    });
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(source)) => {
            reading.abort();
            return Err(CommandError::Wait {
                program: program.clone(),
                source,
            });
        }
        Err(_) => {
            let _ = child.kill().await;
            reading.abort();
            return Err(CommandError::Timeout {
                program: program.clone(),
                timeout,
            });
        }
    };
    if status.success() {
        reading.abort();
        return Ok(());
    }
    // A grandchild may keep the pipe open: what came before the exit is enough.
    let err = match tokio::time::timeout(STDERR_WAIT, reading).await {
        Ok(Ok(first)) => first,
        _ => Vec::new(),
    };
    Err(CommandError::Exit {
        program: program.clone(),
        status,
        stderr: said(&err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn both_runners_say_the_same_of_the_same_program() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let short = Duration::from_millis(300);
        for (argv, want) in [
            (sh("exit 0"), None),
            (
                sh("echo 'relay busy' >&2; exit 3"),
                Some("sh exited with exit status: 3: relay busy"),
            ),
            (sh("sleep 5"), Some("sh did not finish in 0s")),
            (
                vec!["/no/such/relay".into()],
                Some("/no/such/relay: No such file or directory (os error 2)"),
            ),
            (vec![], Some("empty command")),
        ] {
            let began = Instant::now();
            let blocking = run(&argv, None, short).err().map(|e| e.to_string());
            let task = rt
                .block_on(run_async(&argv, short))
                .err()
                .map(|e| e.to_string());
            assert_eq!(blocking.as_deref(), want, "{argv:?}");
            assert_eq!(task.as_deref(), want, "{argv:?}");
            // A hung program is killed at its time limit, by either runner.
            assert!(began.elapsed() < Duration::from_secs(3), "{argv:?}");
        }
    }

    #[test]
    fn a_flood_on_standard_error_neither_stalls_the_program_nor_fills_the_message() {
        // 1 MB is far more than a pipe holds: a runner that reads only after the exit
        // would wait for its time limit instead.
        let argv = sh("head -c 1000000 /dev/zero | tr '\\0' x >&2; exit 1");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let limit = Duration::from_secs(20);
        for e in [
            run(&argv, None, limit).unwrap_err(),
            rt.block_on(run_async(&argv, limit)).unwrap_err(),
        ] {
            assert!(matches!(e, CommandError::Exit { .. }), "{e}");
            let e = e.to_string();
            assert!(e.len() < MAX_STDERR as usize + 100, "{} bytes", e.len());
        }
    }
}
