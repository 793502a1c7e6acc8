//! The two small servers a lab on loopback needs besides the test world: an HTTP file server
//! for the URLs the lab names (the PXE artifacts, the VM images) and a TCP relay that puts the
//! world's sshd at the first node's address. Both run as tasks on the current tokio runtime;
//! aborting the returned handle stops them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::task::JoinHandle;

/// The SHA-256 of `content`, as lowercase hex (how the lab file writes an artifact's digest).
pub fn sha256_hex(content: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, content)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Deterministic stand-in contents for the `index`th served file: about 100 KiB, different for
/// each index (what a simulated machine "streams" instead of a real disk image).
pub fn stand_in_content(index: u32) -> Vec<u8> {
    (0..(100_000 + index * 1_000))
        .map(|i| u8::try_from((i * 7 + index) % 251).unwrap_or(0))
        .collect()
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for `files` (URL path → body): `GET` and `HEAD`
/// with `Content-Length`, 404 for anything else, one request per connection. Returns its root
/// URL (`http://127.0.0.1:PORT`) and its task.
pub async fn serve_files(
    files: HashMap<String, Vec<u8>>,
) -> std::io::Result<(String, JoinHandle<()>)> {
    let files = Arc::new(files);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                    if head.len() > 16 * 1024 {
                        return;
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let (status, body) = match (method, files.get(path)) {
                    ("GET" | "HEAD", Some(body)) => ("200 OK", body.as_slice()),
                    _ => ("404 Not Found", b"not found\n".as_slice()),
                };
                let header = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(header.as_bytes()).await;
                if method != "HEAD" {
                    let _ = stream.write_all(body).await;
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok((format!("http://127.0.0.1:{port}"), task))
}

/// Forwards `listen`:<free port> to `target`, each connection both ways. Returns the port.
pub async fn relay(listen: IpAddr, target: SocketAddr) -> std::io::Result<(u16, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind((listen, 0)).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Ok((port, task))
}
