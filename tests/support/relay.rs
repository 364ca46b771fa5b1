//! A slow loopback TCP relay: forwards connections to a port, holding back every chunk the
//! server sends by a fixed delay. Put in front of the S3 server, it makes each request of a
//! snapshot upload slow, so an export takes longer than one gRPC request timeout.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

pub struct SlowRelay {
    pub ip: IpAddr,
    pub port: u16,
    stop: Arc<AtomicBool>,
    delayed: Arc<AtomicUsize>,
    /// The delay in milliseconds; changed with [`set_delay`](SlowRelay::set_delay).
    delay_ms: Arc<AtomicU64>,
}

impl SlowRelay {
    /// Relays `127.0.0.1:<port>` to `127.0.0.1:<upstream>`, delaying each server chunk by `delay`.
    pub fn start(upstream: u16, delay: Duration) -> SlowRelay {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        SlowRelay::start_at(lo, (lo, upstream), delay)
    }

    /// Relays `<ip>:<port>` to `upstream`, delaying each server chunk by `delay` (the fault
    /// suite's, on the bridge address its test hosts reach).
    pub fn start_at(ip: IpAddr, upstream: (IpAddr, u16), delay: Duration) -> SlowRelay {
        let listener = TcpListener::bind((ip, 0)).expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let delayed = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicU64::new(delay.as_millis() as u64));
        let (stop_flag, counter, delay) = (stop.clone(), delayed.clone(), delay_ms.clone());
        thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (counter, delay) = (counter.clone(), delay.clone());
                        thread::spawn(move || relay(client, upstream, delay, counter));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        SlowRelay {
            ip,
            port,
            stop,
            delayed,
            delay_ms,
        }
    }

    /// Changes the delay for the chunks relayed from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// Server chunks held back so far.
    pub fn delayed(&self) -> usize {
        self.delayed.load(Ordering::Relaxed)
    }
}

impl Drop for SlowRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn relay(
    client: TcpStream,
    upstream: (IpAddr, u16),
    delay: Arc<AtomicU64>,
    delayed: Arc<AtomicUsize>,
) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // Requests go through as they come.
    let up = thread::spawn(move || copy(client_reader, server_writer, None));
    copy(server, client, Some((delay, delayed)));
    let _ = up.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream, hold: Option<(Arc<AtomicU64>, Arc<AtomicUsize>)>) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some((delay, counter)) = &hold {
                    let ms = delay.load(Ordering::Relaxed);
                    if ms > 0 {
                        counter.fetch_add(1, Ordering::Relaxed);
                        thread::sleep(Duration::from_millis(ms));
                    }
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
