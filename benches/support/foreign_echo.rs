//! Echo servers in other languages, for the Go and gevent columns of the
//! echo benches. Each prints its address as its first line of stdout, then
//! echoes what it reads, with a goroutine or a greenlet per connection and
//! a 4 KiB buffer (as the tokio peers have). Both are optional: a bench
//! shows the column only when the toolchain is there.

use std::path::PathBuf;
use std::process::Command;

/// The Go peer's source: a goroutine per connection, a 4 KiB buffer.
const GO_ECHO: &str = r#"package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}(c)
	}
}
"#;

/// The Go HTTP peer: `net/http`, `GET /` answered with the hello body
/// (`hyper_hello::HELLO`), keep-alive as Go does by default.
const GO_HTTP: &str = r#"package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()
	body := []byte("Hello, World!")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}))
}
"#;

/// The gevent peer: `gevent.server.StreamServer`, a greenlet per
/// connection, 4 KiB reads.
const GEVENT_ECHO: &str = r#"from gevent.server import StreamServer


def echo(sock, _addr):
    while True:
        data = sock.recv(4096)
        if not data:
            return
        sock.sendall(data)


server = StreamServer(("127.0.0.1", 0), echo)
server.start()
print("%s:%d" % server.address[:2], flush=True)
server.serve_forever()
"#;

/// Where the peers are built: one directory per machine, reused, so that
/// Go's build cache does not pile up a copy per bench run.
fn build_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join("sprout-bench-foreign");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// Builds the Go echo server if `go` is installed; its binary's path.
pub(crate) fn go_echo() -> Option<PathBuf> {
    go_build("go-echo", GO_ECHO)
}

/// Builds the Go HTTP hello server if `go` is installed; its binary's path.
pub(crate) fn go_http() -> Option<PathBuf> {
    go_build("go-http", GO_HTTP)
}

/// Builds `source` (one `main` package) as `name` in the build directory.
fn go_build(name: &str, source: &str) -> Option<PathBuf> {
    let dir = build_dir()?.join(name);
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("main.go"), source).ok()?;
    let bin = dir.join(name);
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg("main.go")
        .current_dir(&dir)
        .env("GO111MODULE", "off")
        .env("GOCACHE", build_dir()?.join("go-cache"))
        .output()
        .ok()?;
    if !built.status.success() {
        eprintln!("go build failed: {}", String::from_utf8_lossy(&built.stderr));
        return None;
    }
    Some(bin)
}

/// The command that runs the gevent echo server: `$SPROUT_BENCH_PYTHON`
/// (default `python3`) on the script, if that Python can import gevent.
pub(crate) fn gevent_echo() -> Option<Vec<String>> {
    let python = std::env::var("SPROUT_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_gevent = Command::new(&python).args(["-c", "import gevent"]).output().ok()?.status.success();
    if !has_gevent {
        return None;
    }
    let script = build_dir()?.join("gevent_echo.py");
    std::fs::write(&script, GEVENT_ECHO).ok()?;
    Some(vec![python, script.display().to_string()])
}
