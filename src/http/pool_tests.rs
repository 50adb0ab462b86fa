//! The pool against a server of the test's own on loopback, where the test decides
//! when the server closes an idle connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;

use super::*;

/// Requests handed back unsent by hyper and sent again (counted by `Pool::send`).
pub(super) static RESENT: AtomicUsize = AtomicUsize::new(0);

/// Reads one request head (no body) off `conn`; `None` at EOF.
fn read_head(conn: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Some(head);
        }
    }
}

fn request(url: &url::Url) -> http::Request<Body> {
    let mut r = http::Request::new(Body::new(Bytes::new()));
    *r.uri_mut() = super::super::wire::origin_form(url).expect("a path");
    r
}

async fn body_of(response: http::Response<hyper::body::Incoming>) -> Bytes {
    use http_body_util::BodyExt;
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

/// A connection the server closed while it sat idle, not yet seen closed by its task
/// when the next request takes it: hyper hands the request back unsent and the pool
/// sends it on a new connection, once.
#[test]
fn a_request_on_a_connection_closed_while_idle_is_sent_again_on_a_new_one() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url =
        url::Url::parse(&format!("http://{}/x?a=1", listener.local_addr().unwrap())).expect("url");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (closed_tx, closed_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let mut heads = Vec::new();
        let (first, _) = listener.accept().expect("accept");
        let mut first = BufReader::new(first);
        heads.push(read_head(&mut first).expect("first request"));
        first
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none")
            .expect("answer");
        // Closed (FIN) once the client holds the connection idle.
        go_rx.recv().expect("go");
        first.get_mut().shutdown(std::net::Shutdown::Write).ok();
        closed_tx.send(()).expect("closed");
        let (second, _) = listener.accept().expect("accept");
        let mut second = BufReader::new(second);
        heads.push(read_head(&mut second).expect("second request"));
        second
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
            .expect("answer");
        // Whatever reached the first connection after its answer: nothing.
        let mut late = Vec::new();
        first.read_to_end(&mut late).ok();
        (heads, late)
    });
    // Events are gathered after every task's turn, so the connection's task, woken by
    // the request, finds the close already noted before it writes anything.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .event_interval(1)
        .build()
        .expect("runtime");
    let pool = Pool::default();
    let client_url = url.clone();
    let client = runtime.spawn(async move {
        let url = client_url;
        let (response, lease) = pool.send(&url, request(&url)).await.expect("first");
        assert_eq!(body_of(response).await, "one");
        lease.release();
        // Let the connection's task see the end of the exchange (idle, waiting for the
        // next request), then have the server close the connection while that task
        // cannot run: the runtime's one thread blocks here.
        tokio::task::yield_now().await;
        go_tx.send(()).expect("go");
        closed_rx.recv().expect("closed");
        std::thread::sleep(Duration::from_millis(50));
        let before = RESENT.load(std::sync::atomic::Ordering::Relaxed);
        let (response, lease) = pool.send(&url, request(&url)).await.expect("second");
        assert_eq!(body_of(response).await, "two");
        lease.release();
        RESENT.load(std::sync::atomic::Ordering::Relaxed) - before
    });
    assert_eq!(runtime.block_on(client).expect("client"), 1);
    let (heads, late) = server.join().expect("server");
    assert_eq!(late, b"");
    assert_eq!(heads.len(), 2);
    for head in heads {
        let host = format!("host: 127.0.0.1:{}\r\n", url.port().unwrap());
        assert!(head.starts_with("GET /x?a=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains(&host), "{head}");
    }
}

/// Every address a name has is tried in turn: a refused one is passed over.
#[test]
fn each_address_is_tried_until_one_answers() {
    let listening = TcpListener::bind("127.0.0.1:0").expect("bind");
    // A port nothing listens on: bound, then closed.
    let refused = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let open = listening.local_addr().expect("addr");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let stream = open_any(vec![refused, open]).await.expect("second address");
        assert_eq!(stream.peer_addr().expect("peer"), open);
        let e = open_any(vec![refused]).await.expect_err("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        let e = open_any(Vec::new()).await.expect_err("no address");
        assert_eq!(e.to_string(), "Network unreachable");
        // `localhost` as `::1` then `127.0.0.1`, the server on the second only: the
        // other family is tried too.
        if let Ok(v6) = TcpListener::bind("[::1]:0") {
            let refused_v6 = v6.local_addr().expect("addr");
            drop(v6);
            let stream = open_any(vec![refused_v6, refused, open]).await.expect("v4");
            assert_eq!(stream.peer_addr().expect("peer"), open);
            let e = open_any(vec![refused_v6, refused])
                .await
                .expect_err("both refused");
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        }
    });
}
