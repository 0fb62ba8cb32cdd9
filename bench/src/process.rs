//! The load run's child processes (the broker, the router) and what Linux says they used.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// A child process, stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Child {
    child: std::process::Child,
}

/// Peak resident memory and CPU time of a process so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub peak_rss_mib: f64,
    /// User plus system.
    pub cpu_seconds: f64,
}

/// Starts `exe broker` with `topics` and returns it with the bootstrap address it printed.
pub fn start_broker(exe: &Path, topics: &[(String, i32)]) -> anyhow::Result<(Child, String)> {
    let mut command = Command::new(exe);
    command.arg("broker");
    for (name, partitions) in topics {
        command.arg("--topic").arg(format!("{name}:{partitions}"));
    }
    let mut child = command
        .arg("--stop-with-stdin")
        .arg("--log-level")
        .arg("warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the broker process")?;
    let stdout = child.stdout.take().context("the broker has a stdout")?;
    let child = Child { child };
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    // The broker prints more after its address: keep reading, or it fails writing to a closed
    // pipe and exits.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let line = line.trim();
    let address = line
        .strip_prefix("bootstrap.servers=")
        .unwrap_or(line)
        .to_owned();
    if address.is_empty() {
        bail!("the broker process printed no address");
    }
    Ok((child, address))
}

/// Starts `tansu broker` on a free loopback port, its data in memory and its output in `log`,
/// waits until it accepts connections, creates `topics` with `tansu topic create` (producing to
/// a topic it does not have can hang), and returns it with its bootstrap address.
pub fn start_tansu(
    tansu: &Path,
    topics: &[(String, i32)],
    log: &Path,
) -> anyhow::Result<(Child, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::File::create(log)?;
    let child = Command::new(tansu)
        .arg("broker")
        .arg("--listener-url")
        .arg(&url)
        .arg("--advertised-listener-url")
        .arg(&url)
        .arg("--storage-engine")
        .arg("memory://tansu/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", tansu.display()))?;
    let mut child = Child { child };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if child.exited() {
            bail!("tansu ended at start-up");
        }
        if Instant::now() > deadline {
            bail!("tansu did not listen on {url} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for (name, partitions) in topics {
        let mut create = Command::new(tansu)
            .args(["topic", "create", name, "--partitions"])
            .arg(partitions.to_string())
            .arg("--broker")
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run tansu topic create")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = create.try_wait()? {
                if !status.success() {
                    bail!("tansu topic create {name} failed ({status})");
                }
                break;
            }
            if Instant::now() > deadline {
                let _ = create.kill();
                let _ = create.wait();
                bail!("tansu topic create {name} did not end within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok((child, format!("127.0.0.1:{port}")))
}

/// Starts `exe run --config CONFIG`, logging at `warn` to `log`.
pub fn start_router(exe: &Path, config: &Path, log: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    let child = Command::new(exe)
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--log-level")
        .arg("warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start the router process")?;
    Ok(Child { child })
}

/// User plus system CPU seconds of process `pid` so far, from `/proc`; zero where it cannot be
/// read.
pub fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which ends with the last ')'; utime and stime are
            // the 14th and 15th fields of the line.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / TICKS_PER_SECOND)
        })
        .unwrap_or(0.0)
}

impl Child {
    /// Takes charge of a started process.
    pub(crate) fn new(child: std::process::Child) -> Child {
        Child { child }
    }

    /// Peak RSS and CPU time so far, from `/proc`; zero where it cannot be read.
    pub fn usage(&self) -> Usage {
        let pid = self.child.id();
        let peak_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
            .unwrap_or(0.0);
        Usage {
            peak_rss_mib: peak_kib / 1024.0,
            cpu_seconds: cpu_seconds(pid),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
