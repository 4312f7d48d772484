//! Every way a set of cores ends leaves no thread behind. One test in this
//! binary, so that no other test's threads come and go while it counts.

use std::time::{Duration, Instant};

use sprout::cores;
use sprout::net::{StreamServer, TcpStream};

/// The threads of this process (`/proc/self/task`).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

/// Waits a little for the count to settle (a joined thread is gone from
/// `/proc` once `join` returns, but be tolerant of the harness's own).
fn settles_at(expected: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if threads() == expected {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn no_thread_is_left_behind_however_the_cores_end() {
    let before = threads();

    // Every core finishes; while they run, there is one thread per core more.
    let during = cores::run(4, |_| async { Ok::<_, ()>(threads()) }).unwrap();
    assert!(during.iter().all(|&n| n == before + 4), "{during:?} with {before} before");
    assert_eq!(threads(), before, "run joined every thread");

    // One core fails; the others were blocked in long sleeps and tasks.
    let failed = cores::run(3, |core| async move {
        sprout::spawn(sprout::sleep(Duration::from_secs(3600)));
        if core.id() == 1 {
            return Err("bad config");
        }
        sprout::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    assert_eq!(failed.unwrap_err().core(), 1);
    assert_eq!(threads(), before, "a failure joins every thread");

    // One core panics.
    let panicked = cores::run(2, |core| async move {
        if core.id() == 0 {
            panic!("on purpose");
        }
        std::future::pending::<()>().await;
    });
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(threads(), before, "a panic joins every thread");

    // Spawned, then stopped and joined.
    let running = cores::Builder::new().count(3).spawn(|_| std::future::pending::<()>()).unwrap();
    assert_eq!(threads(), before + 3);
    running.stop();
    assert!(running.join_blocking().is_err());
    assert_eq!(threads(), before, "stop and join leave nothing");

    // A server on four workers: three more threads, none after a graceful stop.
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", |_s: TcpStream, _| async {}).await.unwrap().workers(4);
        let handle = server.start();
        assert_eq!(threads(), before + 3);
        handle.stop_graceful(Duration::from_secs(1)).await;
        assert_eq!(threads(), before, "a graceful stop joins every worker");
    });

    // The same after a plain stop, with connections open: the program's end
    // (the server's last handle dropped) kills them and joins the workers.
    sprout::run(async {
        let server = StreamServer::bind("127.0.0.1:0", |s: TcpStream, _| async move {
            let mut buf = [0; 1];
            let _ = s.read(&mut buf).await; // waits forever
        })
        .await
        .unwrap()
        .workers(3);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let mut clients = Vec::new();
        for _ in 0..20 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        while handle.connections() < 20 {
            sprout::sleep(Duration::from_millis(1)).await;
        }
        handle.stop();
        assert_eq!(threads(), before + 2, "stopped workers with connections still run");
    });
    assert_eq!(threads(), before, "dropping the server joined its workers");

    // Spawned, then dropped without a join.
    let running = cores::Builder::new().count(2).spawn(|_| std::future::pending::<()>()).unwrap();
    drop(running);
    assert!(settles_at(before), "dropping a running set joins it: {} threads, {before} before", threads());
}
