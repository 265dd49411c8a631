//! localstripe (PyPI), the fake Stripe that the `stripe` gateway is tested
//! against, as a child process on a free port. `$MAECENAS_LOCALSTRIPE` names
//! the program, else it is `target/pyenv/bin/localstripe`, which
//! `scripts/test` installs. Without it the tests fail and say so: they never
//! skip quietly.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A secret key localstripe takes (it takes any `sk_test_` key).
pub const SECRET_KEY: &str = "sk_test_maecenasLocalstripeSecret4242";

/// A running localstripe; killed on drop, panics included.
pub struct LocalStripe {
    child: Child,
    port: u16,
}

impl LocalStripe {
    /// Starts localstripe and waits until it answers as Stripe does. A port
    /// that was free when picked can be taken before localstripe binds it (by
    /// a parallel test), so a child that dies early is restarted on another.
    pub fn start() -> Self {
        let binary = binary();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["--port", &port.to_string(), "--from-scratch"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start localstripe at {}: {e}", binary.display())
                });
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: most likely the port was taken; try another
                }
                if answers_like_stripe(port) {
                    return LocalStripe { child, port };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "localstripe ({}) did not answer on port {port} within 20 s",
                        binary.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!(
            "localstripe ({}) exited before answering, five times",
            binary.display()
        );
    }

    /// `http://127.0.0.1:PORT`, the API base to give the gateway.
    pub fn api_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    match std::env::var_os("MAECENAS_LOCALSTRIPE") {
        Some(path) => {
            let binary = PathBuf::from(path);
            assert!(
                binary.is_file(),
                "MAECENAS_LOCALSTRIPE names {}, which is not a file",
                binary.display()
            );
            binary
        }
        None => crate::installed_by_scripts_test("target/pyenv/bin/localstripe"),
    }
}

fn answers_like_stripe(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /v1/customers?limit=1 HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {SECRET_KEY}\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.contains(" 200 ") && answer.contains("\"object\"")
}

/// A port nothing listens on (just now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
