//! Seeing inside a runtime (docs/debugging.md): the task dump, the
//! blocking detector and the counters, on a handful of tasks that wait on
//! different things.
//!
//! ```text
//! cargo run --example inspect           # the dump, a blocking report, the metrics
//! cargo run --example inspect -- --wait # then waits: kill -USR1 <pid> prints the dump
//! ```
//!
//! Run it in a debug build (the default for `cargo run`) to see spawn
//! sites, ages and wait sites: release builds keep them only with
//! `Builder::observe(true)`.

use std::rc::Rc;
use std::time::Duration;

use sprout::net::TcpListener;
use sprout::queue::Queue;
use sprout::sync::{Event, Lock};
use sprout::{Runtime, task};

/// Work that holds the thread: what the blocking detector reports.
fn crunch() {
    std::thread::sleep(Duration::from_millis(300));
}

fn main() {
    let wait_for_signal = std::env::args().any(|a| a == "--wait");
    let rt = Runtime::builder()
        // Report any single poll that holds the thread for 100 ms or more.
        .warn_blocking(Duration::from_millis(100))
        // `kill -USR1 <pid>` prints the task dump to stderr.
        .dump_on_signal()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let lock = Rc::new(Lock::new(()));
        let held = lock.lock().await; // the main future holds it
        let locker = task::Builder::new().name("locker").spawn({
            let lock = lock.clone();
            async move { drop(lock.lock().await) }
        });
        let napper = task::Builder::new().name("napper").spawn(sprout::sleep(Duration::from_secs(30)));
        let event = Rc::new(Event::new());
        let listener = task::Builder::new().name("listener").spawn({
            let event = event.clone();
            async move { event.wait().await }
        });
        let queue: Rc<Queue<u32>> = Rc::new(Queue::new(0));
        let getter = task::Builder::new().name("getter").spawn({
            let queue = queue.clone();
            async move { queue.get().await }
        });
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let acceptor = task::Builder::new().name("acceptor").spawn(async move { server.accept().await.map(|_| ()) });
        sprout::yield_now().await; // let each task reach its wait

        println!("{}", sprout::dump());

        // A task that blocks the thread (std::thread::sleep instead of
        // sprout::sleep) once an event lets it go. The monitor thread
        // prints on stderr its name, the .await it resumed from, and the
        // thread's stack down to `crunch`.
        let go = Rc::new(Event::new());
        let cruncher = task::Builder::new().name("cruncher").spawn({
            let go = go.clone();
            async move {
                go.wait().await;
                crunch();
            }
        });
        sprout::yield_now().await;
        go.set();
        cruncher.await.expect("cruncher");
        // The monitor samples every quarter threshold: give it time to
        // see the poll's end. (Its first report reads the program's debug
        // info for the stack, and may print after the counters.)
        sprout::sleep(Duration::from_millis(100)).await;

        if wait_for_signal {
            println!("pid {}: try `kill -USR1 {}`; Ctrl-C ends", std::process::id(), std::process::id());
            let _ = sprout::signal::ctrl_c().await;
        }

        drop(held);
        event.set();
        queue.put(7).await.expect("put");
        locker.await.expect("locker");
        listener.await.expect("listener");
        assert_eq!(getter.await.expect("getter").expect("get"), 7);
        napper.kill();
        acceptor.kill();
        println!("{}", sprout::metrics());
    });
}
