//! The service's connections end to end, on loopback against the real binary: a connection
//! that sends nothing, trickles its head or stalls its body is closed within its limit; at the
//! connection cap idle sockets make room for a fresh client; a body declared too large is
//! refused before it is sent.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::http_get;
use revertbot_testkit::world::{Builder, World};
use serde_json::json;

const WEBHOOK_TOKEN: &str = "webhook-token";

/// A world for a dry-run service on the demo repository (a local path: no git server, no
/// GitHub).
fn world() -> Builder {
    World::on_disk(Path::new(env!("CARGO_BIN_EXE_revertbot")), |dir| {
        revertbot::demo::build(dir).unwrap();
    })
}

/// Its configuration: dry runs.
fn configure(w: &World) -> PathBuf {
    w.config("  dry_run: true")
}

/// An Alertmanager delivery of one firing alert about the demo's image.
fn webhook_body() -> Vec<u8> {
    let starts = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": "FrontendHighErrorRate",
                "severity": "critical",
                "namespace": "prod",
                "image": "ghcr.io/acme/frontend:1.5.0",
            },
            "annotations": {},
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
            "fingerprint": "b1d2f3c4a5e6f708"
        }],
        "groupLabels": { "alertname": "FrontendHighErrorRate" },
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": "{}:{alertname=\"FrontendHighErrorRate\"}",
        "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

/// How long the server took to close `stream` (what it sent is read and dropped), if it did
/// within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            // Reset: closed too.
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// What the server sends on `stream` until `end` is in it, within `limit`.
fn read_until(stream: &mut TcpStream, end: &str, limit: Duration) -> String {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(end) {
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            break;
        };
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn connections_that_send_nothing_trickle_or_stall_are_closed_within_their_limits() {
    let w = world()
        .header_read_timeout(Duration::from_secs(1))
        .body_read_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(2))
        .start();
    let config = configure(&w);
    let svc = w.serve(&config);
    let address = format!("127.0.0.1:{}", svc.port);
    let limit = Duration::from_secs(5);

    // Connected, and nothing sent.
    let mut silent = TcpStream::connect(&address).unwrap();
    let took = closed_within(&mut silent, limit).expect("a silent connection is closed");
    assert!(
        took >= Duration::from_millis(700),
        "not before its time: {took:?}"
    );

    // A head trickled a byte every 100 ms: bytes keep coming, the head never ends.
    let mut trickled = TcpStream::connect(&address).unwrap();
    let mut writer = trickled.try_clone().unwrap();
    let dripping = std::thread::spawn(move || {
        let head = b"GET /healthz HTTP/1.1\r\nHost: revertbot\r\nX-Slow: ";
        let start = std::time::Instant::now();
        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*byte]).is_err() || start.elapsed() > Duration::from_secs(10) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        start.elapsed()
    });
    assert!(
        closed_within(&mut trickled, limit).is_some(),
        "a trickled head is cut off at header_read_timeout"
    );
    assert!(dripping.join().unwrap() < Duration::from_secs(5));

    // A body stalled half-way, from a client that holds the token.
    let mut stalled = TcpStream::connect(&address).unwrap();
    stalled
        .write_all(
            format!(
                "POST /alerts HTTP/1.1\r\nHost: revertbot\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"version\": "
            )
            .as_bytes(),
        )
        .unwrap();
    assert!(
        closed_within(&mut stalled, limit).is_some(),
        "a stalled body is cut off at body_read_timeout"
    );

    // Idle after an answer: kept for idle_timeout, then closed.
    let mut idle = TcpStream::connect(&address).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: revertbot\r\n\r\n")
        .unwrap();
    let answer = read_until(&mut idle, "ok\n", limit);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let took = closed_within(&mut idle, limit).expect("an idle connection is closed");
    assert!(
        took >= Duration::from_millis(1_500),
        "kept for idle_timeout: {took:?}"
    );

    // None of it got in the way of a client that sends its request.
    assert_eq!(http_get(&svc.url("/healthz")).unwrap().0, 200);
    let h = w.history(&config);
    assert!(
        h["deliveries"].as_array().unwrap().is_empty(),
        "the stalled body recorded nothing"
    );
}

#[test]
fn at_the_connection_cap_idle_sockets_make_room_for_a_fresh_client() {
    let w = world().max_connections(50).start();
    let config = configure(&w);
    // A soft open-files limit the idle sockets below would exhaust, under a hard one it may be
    // raised to.
    let svc = w.serve_with_open_files(&config, (128, 256));
    assert!(
        svc.log()
            .contains("open files: soft limit raised from 128 to 256"),
        "{}",
        svc.log()
    );
    svc.wait_ready();
    let address = format!("127.0.0.1:{}", svc.port);
    // Connected, and nothing sent: more than the process has descriptors for.
    let idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();

    for _ in 0..3 {
        let answer = http_get(&svc.url("/healthz"));
        assert_eq!(answer.map(|(s, _)| s), Some(200), "{}", svc.log());
    }
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body());
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["queued"],"delivery":1}"#)
    );
    // The oldest idle sockets were closed to make room; the newest are still open.
    let mut oldest = idle.into_iter().next().unwrap();
    assert!(closed_within(&mut oldest, Duration::from_secs(2)).is_some());
    let log = svc.log();
    assert!(
        log.contains("webhook.max_connections (50) reached: closing the oldest connections that have not completed a request"),
        "{log}"
    );
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_declared_length_over_max_body_bytes_is_refused_before_the_body_is_sent() {
    let w = world().start();
    let config = configure(&w);
    let svc = w.serve(&config);
    let address = format!("127.0.0.1:{}", svc.port);
    let head = |auth: &str| {
        format!(
            "POST /alerts HTTP/1.1\r\nHost: revertbot\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            100 << 20
        )
    };
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .write_all(head(&format!("Authorization: Bearer {WEBHOOK_TOKEN}\r\n")).as_bytes())
        .unwrap();
    let answer = read_until(&mut stream, "}", Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(
        answer.contains(
            r#"{"error":"the body is larger than webhook.max_body_bytes (1048576 bytes)"}"#
        ),
        "{answer}"
    );
    // Without the token, the answer says no more than 401.
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.write_all(head("").as_bytes()).unwrap();
    let answer = read_until(&mut stream, "\r\n\r\n", Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    let metrics = String::from_utf8_lossy(&http_get(&svc.url("/metrics")).unwrap().1).into_owned();
    assert!(
        metrics.contains("revertbot_deliveries_total{result=\"too_large\"} 1"),
        "{metrics}"
    );
}
