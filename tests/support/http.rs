//! A minimal HTTP/1.0 client for loopback and the fault suite's test hosts: node health, the S3
//! server's bucket API.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// One request without a body: (status, body); None when nothing answers on the port.
pub fn request(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    request_at(IpAddr::V4(Ipv4Addr::LOCALHOST), port, method, path)
}

/// [`request`] to another address (a test host's, see `hosts`).
pub fn request_at(ip: IpAddr, port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::new(ip, port);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.") {
        return None;
    }
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The body of `GET path`, whatever the status; None when nothing answers.
pub fn get(port: u16, path: &str) -> Option<String> {
    request(port, "GET", path).map(|(_, body)| body)
}

/// [`get`] from another address.
pub fn get_at(ip: IpAddr, port: u16, path: &str) -> Option<String> {
    request_at(ip, port, "GET", path).map(|(_, body)| body)
}
