//! A TCP proxy in front of PostgreSQL that a test can pause or cut, to see
//! what the server does when its database hangs or disappears.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FORWARD: u8 = 0;
const PAUSE: u8 = 1;
const DOWN: u8 = 2;

pub struct DbProxy {
    pub addr: SocketAddr,
    state: Arc<AtomicU8>,
}

impl DbProxy {
    pub async fn start(upstream: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(AtomicU8::new(FORWARD));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shared.load(Ordering::SeqCst) == DOWN {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(client_read, server_write, shared.clone()));
                tokio::spawn(pipe(server_read, client_write, shared.clone()));
            }
        });
        DbProxy { addr, state }
    }

    /// Hold every byte until `resume`: queries hang.
    pub fn pause(&self) {
        self.state.store(PAUSE, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.state.store(FORWARD, Ordering::SeqCst);
    }

    /// Cut every connection and refuse new ones: the database is gone.
    pub fn down(&self) {
        self.state.store(DOWN, Ordering::SeqCst);
    }

    /// `url` with its host and port pointing at the proxy.
    pub fn url_through(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.into()
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<AtomicU8>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            match state.load(Ordering::SeqCst) {
                FORWARD => break,
                PAUSE => tokio::time::sleep(Duration::from_millis(10)).await,
                _ => return,
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Where the test PostgreSQL listens.
pub fn postgres_addr() -> SocketAddr {
    let url = url::Url::parse(&maecenas_testkit::postgres_admin_url()).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", url.port().unwrap_or(5432))
        .parse()
        .unwrap()
}
