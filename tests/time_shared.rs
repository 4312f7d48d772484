//! One virtual clock for every runtime of a paused test: the workers of
//! `StreamServer::workers` and the cores of `cores` follow the clock of the
//! runtime that started them, and it jumps only when all of them are idle
//! (issue 18, bug 9; "One clock for every runtime of a paused test" in
//! docs/architecture.md). sprout-http's `Server::workers` has its own test
//! in `http/tests/server_workers.rs`.

mod support;

use std::io;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use sprout::net::{StreamServer, TcpStream};
use sprout::{Runtime, cores, sleep, time, timeout};

/// The server's idle timeout in these tests.
const IDLE: Duration = Duration::from_secs(30);

/// Issue 18, bug 9: under `#[sprout::test(paused)]`, worker 1 of
/// `StreamServer::workers(2)` ran on the real clock, so its idle timeouts
/// never fired in the test (5 connections in 6 stayed open after 35 virtual
/// seconds), and such a test passed or failed depending on which worker the
/// kernel picked. Here the connections are spread until both workers hold
/// some, so the old code fails every time; with one clock, every idle
/// connection is closed at its deadline, whichever worker holds it.
#[sprout::test(paused)]
async fn idle_timeouts_fire_on_every_worker_of_a_paused_test() {
    let test_thread = std::thread::current().id();
    let server = StreamServer::bind("127.0.0.1:0", move |stream: TcpStream, _| idle_handler(stream, test_thread))
        .await
        .unwrap()
        .workers(2);
    let addr = server.local_addr().unwrap();
    let handle = server.start();
    let start = time::now();
    let conns = support::workers::on_both_workers(6, || async {
        let conn = TcpStream::connect(addr).await.unwrap();
        let mut worker = [0];
        conn.read_exact(&mut worker).await.unwrap();
        (worker[0], conn)
    })
    .await;
    sleep(IDLE + Duration::from_secs(5)).await;
    support::workers::assert_all_closed(&conns, start).await;
    assert_eq!(handle.connections(), 0);
    handle.stop();
}

/// Tells the client which worker it landed on (0: the test's own thread,
/// worker 0), then closes the connection once it has been idle for `IDLE`.
async fn idle_handler(stream: TcpStream, test_thread: ThreadId) -> io::Result<()> {
    let worker = u8::from(std::thread::current().id() != test_thread);
    stream.write_all(&[worker]).await?;
    let _ = timeout(IDLE, stream.read(&mut [0; 1])).await;
    Ok(())
}

/// Cores started from a paused test share its clock: a core that works
/// (here, blocks its thread) holds the clock, so the test's own timeout
/// cannot jump past it; the core's virtual sleep then ends first, as its
/// deadline is earlier, and both read the same time. On the old code each
/// core ran the real clock: the core's 10-second sleep took 10 real seconds
/// while the test's 60-second timeout fired at once.
#[sprout::test(paused)]
async fn cores_started_from_a_paused_test_share_its_clock() {
    let start = time::now();
    let running = cores::Builder::new()
        .count(1)
        .spawn(move |_core| async move {
            // Busy for a while, on the real clock: nothing may jump meanwhile.
            std::thread::sleep(Duration::from_millis(50));
            sleep(Duration::from_secs(10)).await;
            Ok::<_, io::Error>(time::now())
        })
        .unwrap();
    let joined = timeout(Duration::from_secs(60), running.join()).await;
    let core_time = joined.expect("the test's timeout jumped past a busy core").unwrap()[0];
    assert_eq!(core_time - start, Duration::from_secs(10), "the core slept on the test's clock");
    // The test's clock is where the core's sleep ended (up to its tick).
    assert!(time::now() - start < Duration::from_secs(11));
}

/// `cores::run` with a paused runtime builder: the cores share one virtual
/// clock, so a timeout on one core does not fire while another is busy,
/// and timers across cores fire in deadline order. On the old code each
/// core had a clock of its own: core 0's 60-second timeout jumped at once,
/// while core 1 was still blocking its thread.
#[test]
fn the_cores_of_a_paused_set_share_one_clock() {
    let started = Arc::new(std::sync::Barrier::new(2));
    let (tx, rx) = cores::channel::<Instant>(1);
    let rx = Arc::new(std::sync::Mutex::new(Some(rx)));
    let times = cores::Builder::new()
        .count(2)
        .runtime(Runtime::builder().start_paused(true))
        .run(move |core| {
            let (started, tx, rx) = (started.clone(), tx.clone(), rx.clone());
            async move {
                // Both cores are running before either reads the clock.
                started.wait();
                let start = time::now();
                if core.id() == 0 {
                    let rx = rx.lock().unwrap().take().unwrap();
                    let sent_at = timeout(Duration::from_secs(60), rx.recv())
                        .await
                        .map_err(|_| "core 0's timeout fired under a busy core 1")?
                        .ok_or("core 1 hung up")?;
                    Ok::<_, &str>((start, sent_at, time::now()))
                } else {
                    std::thread::sleep(Duration::from_millis(50));
                    sleep(Duration::from_secs(30)).await;
                    tx.send(time::now()).await.map_err(|_| "core 0 hung up")?;
                    Ok((start, time::now(), time::now()))
                }
            }
        })
        .unwrap();
    let [(start0, sent_at, received_at), (start1, ..)] = times[..] else { unreachable!() };
    assert_eq!(start0, start1, "one clock: both cores read the same time");
    assert_eq!(sent_at - start1, Duration::from_secs(30));
    assert_eq!(received_at, sent_at, "the clock did not move between the send and the receive");
}
