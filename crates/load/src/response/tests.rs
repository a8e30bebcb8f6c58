//! The response reader's tests: every framing, every split of the bytes
//! over reads, and what a server may not make it hold.

use super::*;

/// Feeds `wire` in pieces of `step` bytes; returns (done, reader) or the error.
fn read(wire: &[u8], step: usize, head: bool) -> Result<(bool, ResponseReader), ErrorKind> {
    let mut r = ResponseReader::new();
    r.begin(head, true);
    for piece in wire.chunks(step) {
        if r.feed(piece)? {
            return Ok((true, r));
        }
    }
    Ok((false, r))
}

const CL: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn content_length_in_any_split() {
    for step in [1, 2, 7, 100] {
        let (done, r) = read(CL, step, false).unwrap();
        assert!(done, "step {step}");
        assert_eq!((r.status, r.header_bytes, r.body_bytes), (200, 53, 5));
        assert!(r.keep_alive);
        assert_eq!(r.server.as_deref(), Some("nginx"));
    }
}

#[test]
fn keep_alive_rules() {
    let ka = |wire: &[u8]| read(wire, 1000, false).unwrap().1.keep_alive;
    assert!(!ka(
        b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!ka(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(ka(
        b"HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
    ));
}

#[test]
fn chunked_counts_raw_bytes() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n";
    let head = 47;
    for step in [1, 3, 1000] {
        let (done, r) = read(wire, step, false).unwrap();
        assert!(done);
        assert_eq!(r.header_bytes, head);
        assert_eq!(r.body_bytes, wire.len() as u64 - head);
    }
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_eq!(read(bad, 100, false).err(), Some(ErrorKind::Malformed));
}

#[test]
fn close_delimited_ends_at_eof() {
    let (done, mut r) = read(b"HTTP/1.0 200 OK\r\n\r\nabc", 100, false).unwrap();
    assert!(!done && !r.keep_alive);
    assert_eq!(r.eof(), Ok(()));
    assert_eq!(r.body_bytes, 3);
}

#[test]
fn bodiless_responses() {
    assert!(
        read(CL, 1000, true).unwrap().0,
        "HEAD ignores Content-Length"
    );
    assert!(
        read(b"HTTP/1.1 204 No Content\r\n\r\n", 1000, false)
            .unwrap()
            .0
    );
    assert!(
        read(
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            1000,
            false
        )
        .unwrap()
        .0
    );
    let (done, r) = read(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        5,
        false,
    )
    .unwrap();
    assert!(done);
    assert_eq!((r.status, r.header_bytes, r.body_bytes), (200, 25 + 38, 1));
}

#[test]
fn short_body_is_length_error() {
    let (done, mut r) = read(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        100,
        false,
    )
    .unwrap();
    assert!(!done);
    assert_eq!(r.eof(), Err(ErrorKind::Length));
}

#[test]
fn malformed_heads() {
    assert_eq!(
        read(b"garbage\r\n\r\n", 100, false).err(),
        Some(ErrorKind::Malformed)
    );
    let two = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(read(two, 100, false).err(), Some(ErrorKind::Malformed));
    assert_eq!(
        read(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100, false).err(),
        Some(ErrorKind::Malformed)
    );
}

#[test]
fn head_over_64_kib_is_malformed_and_the_buffer_shrinks() {
    let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    wire.extend(std::iter::repeat_n(b'a', 1_000_000));
    wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    for step in [4096, 65536, wire.len()] {
        let mut r = ResponseReader::new();
        r.begin(false, false);
        let mut result = Ok(false);
        for piece in wire.chunks(step) {
            result = r.feed(piece);
            if result != Ok(false) {
                break;
            }
            assert!(r.head.capacity() <= 2 * MAX_HEAD, "step {step}");
        }
        assert_eq!(result, Err(ErrorKind::Malformed), "step {step}");
        assert!(r.head.capacity() <= KEEP_HEAD, "step {step}");
    }
}

/// Interim heads are taken in a loop: a server sending a hundred
/// thousand in one read cannot grow the stack (it did once, a frame per
/// head).
#[test]
fn many_interim_heads_in_one_read_are_taken_in_a_loop() {
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(100_000);
    let wire = [
        &interim[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    ]
    .concat();
    let mut r = ResponseReader::new();
    r.begin(false, false);
    assert_eq!(r.feed(&wire), Ok(true));
    assert_eq!((r.status, r.body_bytes), (200, 1));
}

#[test]
fn head_split_over_reads_then_body_in_the_same_read() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    for split in 1..wire.len() {
        let mut r = ResponseReader::new();
        r.begin(false, false);
        let first = r.feed(&wire[..split]).unwrap();
        let done = first || r.feed(&wire[split..]).unwrap();
        assert!(done, "split {split}");
        assert_eq!((r.status, r.body_bytes), (200, 3), "split {split}");
    }
}

#[test]
fn bytes_after_the_end_are_an_overrun_in_any_split() {
    let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    for wire in [CL, &no_content[..], &chunked[..]] {
        for extra in [&b""[..], b"junk"] {
            let all = [wire, extra].concat();
            for split in 1..=all.len() {
                let mut r = ResponseReader::new();
                r.begin(false, false);
                assert!(r.feed(&all[..split]).unwrap() || r.feed(&all[split..]).unwrap());
                // Split exactly at the end, the extra bytes come in a
                // later read: the next request's business.
                let expected = !extra.is_empty() && split != wire.len();
                assert_eq!(r.overrun, expected, "split {split}");
                r.begin(false, false);
                assert!(!r.overrun);
            }
        }
    }
}

#[test]
fn large_head_grows_the_buffer() {
    let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    wire.extend(std::iter::repeat_n(b'a', 40_000));
    wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let (done, r) = read(&wire, 4096, false).unwrap();
    assert!(done);
    assert_eq!(r.header_bytes, wire.len() as u64);
}
