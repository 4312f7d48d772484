//! StreamServer's error hook: a handler's errors reach it with the peer's
//! address; the errors a peer causes are told apart by `is_peer_error`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use sprout::net::{StreamServer, TcpStream, is_peer_error};

#[sprout::test]
async fn handler_errors_go_to_the_hook_and_peer_errors_are_marked() {
    let seen: Rc<RefCell<Vec<(bool, String)>>> = Rc::default();
    let log = seen.clone();
    let server = StreamServer::bind("127.0.0.1:0", |stream: TcpStream, _| async move {
        let mut buf = [0; 16];
        let n = stream.read(&mut buf).await?;
        match &buf[..n] {
            b"BREW" => Err(io::Error::new(io::ErrorKind::InvalidData, "a bad method")),
            b"oops" => Err(io::Error::other("the handler's own bug")),
            _ => Ok(()),
        }
    })
    .await
    .unwrap()
    .on_error(move |peer, error| {
        assert!(peer.ip().is_loopback());
        log.borrow_mut().push((is_peer_error(error), error.to_string()));
    });
    let addr = server.local_addr().unwrap();
    let handle = server.start();
    for message in [&b"BREW"[..], b"oops", b"GET"] {
        let client = TcpStream::connect(addr).await.unwrap();
        client.write_all(message).await.unwrap();
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest).await; // until the handler is done
    }
    sprout::sleep(std::time::Duration::from_millis(10)).await;
    let seen = seen.borrow().clone();
    assert_eq!(seen, [(true, "a bad method".to_owned()), (false, "the handler's own bug".to_owned())]);
    handle.stop();
}
