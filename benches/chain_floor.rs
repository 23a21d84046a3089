//! The benchmark floor: the chain and start-up workloads done by hand with `std::net` on one
//! keep-alive connection and `serde_json` for captures — no workflow, no templates. apiflow is
//! measured against it (see `benches/README.md`).
//!
//! `chain_floor chain http://127.0.0.1:PORT [STEPS]` and `chain_floor startup http://127.0.0.1:PORT`
//! exit 0 only when every status was 200 and every capture existed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

struct Connection {
    host: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(base: &str) -> Result<Connection, String> {
        let host = base
            .strip_prefix("http://")
            .ok_or("the base URL must start with http://")?
            .trim_end_matches('/')
            .to_owned();
        let stream = TcpStream::connect(&host).map_err(|e| format!("connect {host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(Connection {
            host,
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn call(
        &mut self,
        request_line: &str,
        headers: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let head = format!(
            "{request_line} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        self.writer
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        self.writer.write_all(body).map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let mut length = 0;
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(|_| "bad content-length")?;
            }
        }
        let mut body = vec![0; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}

fn chain(base: &str, steps: usize) -> Result<(), String> {
    let mut connection = Connection::open(base)?;
    let form = b"grant_type=client_credentials&client_id=bench&client_secret=s3cret";
    let (status, body) = connection.call(
        "POST /token",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        form,
    )?;
    if status != 200 {
        return Err(format!("token: status {status}"));
    }
    let token: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let token = token["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let mut id = 1u64;
    for _ in 1..steps {
        let (status, body) = connection.call(&format!("GET /items/{id}"), &auth, b"")?;
        if status != 200 {
            return Err(format!("item {id}: status {status}"));
        }
        let item: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        id = item["links"]["next"]["id"]
            .as_u64()
            .ok_or("no links.next.id")?;
    }
    Ok(())
}

fn startup(base: &str) -> Result<(), String> {
    let mut connection = Connection::open(base)?;
    let (status, body) = connection.call("GET /health", "", b"")?;
    let health: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if status != 200 || health["status"] != "ok" {
        return Err(format!("health: status {status}"));
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("chain"), Some(base)) => {
            let steps = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
            chain(base, steps)
        }
        (Some("startup"), Some(base)) => startup(base),
        _ => Err("usage: chain_floor chain|startup http://127.0.0.1:PORT [STEPS]".into()),
    };
    if let Err(message) = result {
        eprintln!("chain_floor: {message}");
        std::process::exit(1);
    }
}
