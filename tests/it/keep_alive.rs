//! The plain-http connection pool seen from a server of the test's own: connections
//! reused, at most one per worker, and a connection the server closed after its
//! answer never used again (nothing sent twice, nothing lost).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::Project;

/// An HTTP/1.1 server on loopback that answers every request 201 and counts the
/// connections it accepted and the requests it read.
struct CountingServer {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    /// The `Host` header of every request, in order.
    hosts: Arc<Mutex<Vec<String>>>,
}

impl CountingServer {
    /// `close_after_answer`: each connection is closed right after its first answer
    /// (without `Connection: close`: the client learns it only from the close).
    fn start(close_after_answer: bool) -> CountingServer {
        CountingServer::on(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            close_after_answer,
        )
    }

    fn on(listener: TcpListener, close_after_answer: bool) -> CountingServer {
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let (c, r, h) = (connections.clone(), requests.clone(), hosts.clone());
        // Accepts until the test process ends.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (r, h) = (r.clone(), h.clone());
                std::thread::spawn(move || serve(conn, &r, &h, close_after_answer));
            }
        });
        CountingServer {
            addr,
            connections,
            requests,
            hosts,
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.connections.load(Ordering::SeqCst),
            self.requests.load(Ordering::SeqCst),
        )
    }
}

/// Requests with a `Content-Length` body, answered in turn until the client closes.
fn serve(
    conn: TcpStream,
    requests: &AtomicUsize,
    hosts: &Mutex<Vec<String>>,
    close_after_answer: bool,
) {
    let mut conn = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if conn.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if let Some(v) = lower.strip_prefix("host:") {
                hosts.lock().unwrap().push(v.trim().to_string());
            }
        }
        let mut body = vec![0u8; length];
        conn.read_exact(&mut body).unwrap();
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = format!("{{\"id\":{n}}}");
        let stream = conn.get_mut();
        // The answer and the close leave in one segment (Linux): the client cannot
        // take the connection as idle and open between the two.
        #[cfg(target_os = "linux")]
        socket2::SockRef::from(&*stream)
            .set_tcp_cork(close_after_answer)
            .unwrap();
        write!(
            stream,
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        if close_after_answer {
            let _ = stream.shutdown(std::net::Shutdown::Write);
            // Drain until the client closes its side.
            let _ = std::io::copy(&mut conn, &mut std::io::sink());
            return;
        }
    }
}

/// A project whose profile points at `server`.
fn project_for(server: &CountingServer) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: http://{}\n", server.addr),
    );
    p
}

/// A project whose profile points at `server`, a POST per row of `rows` rows.
fn bulk_project(server: &CountingServer, rows: usize) -> Project {
    let p = project_for(server);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /things\nbody:\n  json: {name: \"{{ name }}\"}\nexpect: {status: 201}\n",
    );
    let mut csv = String::from("name\n");
    for i in 1..=rows {
        csv.push_str(&format!("Thing {i}\n"));
    }
    p.write("rows.csv", &csv);
    p
}

fn run_bulk(p: &Project, concurrency: &str) -> crate::support::Run {
    p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "rows.csv",
        "--concurrency",
        concurrency,
        "--retries",
        "0",
        "-o",
        "none",
    ])
}

#[test]
fn rows_at_concurrency_n_reuse_at_most_n_connections() {
    let server = CountingServer::start(false);
    let p = bulk_project(&server, 60);
    let r = run_bulk(&p, "4");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (connections, requests) = server.counts();
    assert_eq!(requests, 60);
    assert!(
        (1..=4).contains(&connections),
        "{connections} connections for 60 rows at concurrency 4"
    );
    // One at a time: one connection for every row.
    let server = CountingServer::start(false);
    let p = bulk_project(&server, 10);
    let r = run_bulk(&p, "1");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.counts(), (1, 10));
}

#[test]
fn connections_the_server_closed_after_answering_are_not_reused() {
    let server = CountingServer::start(true);
    let p = bulk_project(&server, 20);
    for concurrency in ["1", "3"] {
        let before = server.counts();
        let r = run_bulk(&p, concurrency);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let after = server.counts();
        // POSTs with no retries: every row sent once, each on a connection of its own.
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (20, 20),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn an_ipv6_literal_host_is_reached_and_named_in_host() {
    // A machine without IPv6 loopback has nothing to test here.
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback: skipped");
        return;
    };
    let server = CountingServer::on(listener, false);
    let p = project_for(&server);
    p.write(
        "requests/create.yaml",
        &format!(
            "method: POST\nurl: http://{}/things\nbody:\n  json: {{name: x}}\nexpect: {{status: 201}}\n",
            server.addr
        ),
    );
    let r = p.run(&["exec", "requests/create.yaml", "--retries", "0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "{\"id\":1}");
    assert_eq!(server.counts(), (1, 1));
    let port = server.addr.port();
    assert_eq!(*server.hosts.lock().unwrap(), [format!("[::1]:{port}")]);
}
