//! Small blocking test servers on 127.0.0.1:0, one thread per connection,
//! that count what the engine does to them; and a recorder that keeps
//! every record.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use speedup_load::{run, Control, Plan, Record, Recorder, RunError, Target};

/// What a test server saw.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicUsize,
    pub requests: AtomicUsize,
    open: AtomicUsize,
    pub max_open: AtomicUsize,
}

impl Stats {
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
    pub fn max_open(&self) -> usize {
        self.max_open.load(Ordering::SeqCst)
    }
}

/// A server's side of one connection.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    stats: Arc<Stats>,
}

impl Conn {
    /// Reads one request head; false on EOF or error.
    pub fn read_request(&mut self) -> bool {
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) if line == "\r\n" && !first => {
                    self.stats.requests.fetch_add(1, Ordering::SeqCst);
                    return true;
                }
                Ok(_) => first = false,
            }
        }
    }

    /// Writes all of `bytes`, ignoring errors (the client may be gone).
    pub fn write(&mut self, bytes: &[u8]) {
        let _ = self.reader.get_mut().write_all(bytes);
    }

    /// Closes with a reset instead of a FIN (SO_LINGER 0).
    pub fn reset(self) {
        let socket = socket2::SockRef::from(self.reader.get_ref());
        let _ = socket.set_linger(Some(std::time::Duration::ZERO));
    }

    /// Writes `head`, then `unit` over and over (in 1 MiB writes) until the
    /// client goes away: a server that never stops sending.
    pub fn flood(&mut self, head: &[u8], unit: &[u8]) {
        let stream = self.reader.get_mut();
        if stream.write_all(head).is_err() {
            return;
        }
        let mut block = Vec::with_capacity((1 << 20) + unit.len());
        while block.len() < 1 << 20 {
            block.extend_from_slice(unit);
        }
        while stream.write_all(&block).is_ok() {}
    }

    /// Reads until the client closes (holds the connection open).
    pub fn drain(&mut self) {
        let mut sink = Vec::new();
        let _ = self.reader.read_to_end(&mut sink);
    }
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Serves each connection on its own thread with `handler`. The accept
/// thread lives until the test process ends.
pub fn serve(handler: impl Fn(Conn) + Send + Sync + 'static) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let stats = Arc::new(Stats::default());
    let handler = Arc::new(handler);
    let s = Arc::clone(&stats);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            s.accepted.fetch_add(1, Ordering::SeqCst);
            let open = s.open.fetch_add(1, Ordering::SeqCst) + 1;
            s.max_open.fetch_max(open, Ordering::SeqCst);
            let (s, handler) = (Arc::clone(&s), Arc::clone(&handler));
            std::thread::spawn(move || {
                let conn = Conn {
                    reader: BufReader::new(stream),
                    stats: Arc::clone(&s),
                };
                handler(conn);
                s.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    TestServer { addr, stats }
}

/// Answers every request on the connection with `response` until the
/// client closes.
pub fn answer_all(response: &'static [u8]) -> impl Fn(Conn) + Send + Sync + 'static {
    move |mut conn: Conn| {
        while conn.read_request() {
            conn.write(response);
        }
    }
}

/// A port nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local addr").port()
}

/// Keeps every record.
#[derive(Default)]
pub struct Keep(pub Vec<Record>);

impl Recorder for Keep {
    fn record(&mut self, record: &Record) {
        self.0.push(*record);
    }
}

/// A plan with a short timeout so a bug cannot hang the suite.
pub fn plan(url: &str, requests: u64, concurrency: u32) -> Plan {
    let mut plan = Plan::new(Target::parse(url).expect("test url"));
    plan.requests = Some(requests);
    plan.concurrency = concurrency;
    plan.timeout = Duration::from_secs(5);
    plan.headers = vec![("Host".into(), "test".into())];
    plan
}

/// Runs `plan` under `control` on its own thread and returns all records
/// and how long the run took; fails the test if the run is still going
/// after `limit` (the run's thread is then left behind, so a hang cannot
/// hang the suite).
pub fn run_within(plan: &Plan, control: Arc<Control>, limit: Duration) -> (Vec<Record>, Duration) {
    let (tx, rx) = mpsc::channel();
    let plan = plan.clone();
    std::thread::spawn(move || {
        let begun = Instant::now();
        let out = run(&plan, Keep::default, &control);
        let _ = tx.send((out.map(|o| o.recorders), begun.elapsed()));
    });
    let (out, took) = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the run was still going after {limit:?}"));
    let records = out.expect("run").into_iter().flat_map(|k| k.0).collect();
    (records, took)
}

/// Runs `plan` and returns all records, merged, with the run's output.
pub fn run_plan(plan: &Plan) -> Result<(Vec<Record>, Duration, Option<String>), RunError> {
    let out = run(plan, Keep::default, &Control::new())?;
    let records = out.recorders.into_iter().flat_map(|k| k.0).collect();
    Ok((records, out.elapsed, out.server_header))
}
