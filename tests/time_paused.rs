//! Virtual time: `start_paused`, `pause`, `resume`, `advance`, auto-advance
//! and its rule around I/O, socket timeouts and intervals on the virtual
//! clock (docs/debugging.md, "Testing with virtual time").

mod support;

use std::cell::Cell;
use std::future::pending;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sprout::time::{self, MissedTickBehavior};
use sprout::{Runtime, interval, sleep, sleep_until, spawn, spawn_blocking, timeout, wait, yield_now};
use support::{Log, echo_server, pair};

const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

/// Real time a paused test may take: generous, and far below the virtual
/// durations it covers.
const REAL_BOUND: Duration = Duration::from_secs(5);

/// The virtual time since `start`, which a timer ending at a deadline
/// reaches exactly, up to its round-up to the next millisecond tick.
fn since(start: Instant) -> Duration {
    time::now() - start
}

fn near(elapsed: Duration, expected: Duration) -> bool {
    elapsed >= expected && elapsed <= expected + MS
}

#[sprout::test(paused)]
async fn an_hour_long_timeout_takes_microseconds() {
    let real = Instant::now();
    let start = time::now();
    assert!(time::is_paused());
    let out = timeout(HOUR, pending::<()>()).await;
    assert!(out.is_err());
    assert!(near(since(start), HOUR), "{:?}", since(start));
    assert!(real.elapsed() < REAL_BOUND, "{:?}", real.elapsed());
}

#[sprout::test(paused)]
async fn auto_advance_fires_timers_in_deadline_order_at_their_deadlines() {
    let log = Log::new();
    let start = time::now();
    let tasks: Vec<_> = [30u64, 10, 20, 10, 86_400]
        .into_iter()
        .map(|secs| {
            let log = log.clone();
            spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                let at = since(start);
                assert!(near(at, Duration::from_secs(secs)), "sleep({secs} s) ended at {at:?}");
                log.push(secs.to_string());
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(log.take(), ["10", "10", "20", "30", "86400"]);
}

#[sprout::test(paused)]
async fn the_clock_stands_while_tasks_run() {
    let start = time::now();
    std::thread::sleep(Duration::from_millis(5));
    for _ in 0..10 {
        yield_now().await;
    }
    assert_eq!(time::now(), start, "paused: real time spent does not move it");
    // A deadline from the virtual clock behaves as sleep().
    sleep_until(time::now() + Duration::from_secs(5)).await;
    assert!(near(since(start), Duration::from_secs(5)));
}

#[test]
fn without_auto_advance_only_advance_moves_the_clock() {
    let rt = Runtime::builder().start_paused(true).auto_advance(false).build().unwrap();
    rt.block_on(async {
        let start = time::now();
        let rang = Rc::new(Cell::new(false));
        let r = rang.clone();
        let timer = spawn(async move {
            sleep(Duration::from_secs(10)).await;
            r.set(true);
        });
        // Everything waits on the timer: with auto-advance the clock would
        // jump here. A blocking-free real wait proves it does not.
        let real = Instant::now();
        let spin = spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
        spin.await.unwrap();
        assert!(real.elapsed() >= Duration::from_millis(20));
        assert!(!rang.get());
        assert_eq!(time::now(), start);

        time::advance(Duration::from_secs(9)).await;
        assert!(!rang.get());
        assert_eq!(since(start), Duration::from_secs(9));
        time::advance(Duration::from_secs(1)).await;
        assert!(rang.get(), "the timer that became due fired, and its task ran, before advance returned");
        assert!(timer.is_finished());
    });
}

#[sprout::test(paused, auto_advance = false)]
async fn advance_fires_every_due_timer_in_order() {
    let log = Log::new();
    for secs in [3u64, 1, 2] {
        let log = log.clone();
        spawn(async move {
            sleep(Duration::from_secs(secs)).await;
            log.push(secs.to_string());
        });
    }
    yield_now().await; // let them arm their timers
    time::advance(Duration::from_secs(5)).await;
    assert_eq!(log.take(), ["1", "2", "3"]);
}

#[sprout::test]
async fn pause_and_resume_inside_a_running_runtime() {
    let real = Instant::now();
    assert!(!time::is_paused());
    time::pause();
    time::pause(); // a no-op
    let start = time::now();
    sleep(HOUR).await;
    assert!(near(since(start), HOUR));
    time::resume();
    time::resume(); // a no-op
    assert!(!time::is_paused());
    // Resumed: the clock runs at real speed, an hour ahead of std's.
    let ahead = time::now() - Instant::now();
    assert!(ahead > HOUR - Duration::from_secs(1) && ahead <= HOUR + MS, "{ahead:?}");
    let before = time::now();
    sleep(Duration::from_millis(20)).await;
    assert!(since(before) >= Duration::from_millis(20));
    assert!(real.elapsed() >= Duration::from_millis(20), "a real sleep, not a jump");
    assert!(real.elapsed() < REAL_BOUND);
}

#[test]
#[should_panic(expected = "time is not paused")]
fn advance_needs_paused_time() {
    sprout::run(async { time::advance(MS).await });
}

#[test]
#[should_panic(expected = "must be called from inside a sprout runtime")]
fn pause_needs_a_runtime() {
    time::pause();
}

/// The rule around I/O: the loop jumps only after a poll with a zero
/// timeout found nothing to wake. A loopback echo between tasks of this
/// runtime therefore completes inside an hour-long timeout: each write
/// makes the peer readable before the next poll.
#[sprout::test(paused)]
async fn loopback_echo_completes_inside_a_long_timeout() {
    let start = time::now();
    let (addr, server) = echo_server().await;
    let out = timeout(HOUR, async {
        let stream = sprout::net::TcpStream::connect(addr).await?;
        for round in 0..50u32 {
            let msg = format!("round {round}");
            stream.write_all(msg.as_bytes()).await?;
            let mut buf = vec![0; msg.len()];
            stream.read_exact(&mut buf).await?;
            assert_eq!(buf, msg.as_bytes());
        }
        io::Result::Ok(())
    })
    .await;
    assert!(matches!(out, Ok(Ok(()))), "{out:?}");
    assert!(since(start) < MS, "no jump happened: {:?}", since(start));
    server.stop();
}

/// Socket timeouts run on the virtual clock: a silent peer times out at
/// once in real time, at the timeout in virtual time; a peer that answers
/// never does.
#[sprout::test(paused)]
async fn socket_read_timeouts_follow_the_virtual_clock() {
    let real = Instant::now();
    let (client, server) = pair().await;
    client.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let start = time::now();
    let mut buf = [0; 4];
    let err = client.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(near(since(start), Duration::from_secs(30)), "{:?}", since(start));

    // An answer from a task of this runtime beats the timeout, although
    // it comes only after the answering task slept a virtual minute.
    spawn(async move {
        sleep(Duration::from_secs(60)).await;
        server.write_all(b"late").await.unwrap();
        server
    });
    client.set_read_timeout(Some(Duration::from_secs(90))).unwrap();
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"late");
    assert!(real.elapsed() < REAL_BOUND);
}

#[sprout::test(paused)]
async fn intervals_tick_on_the_virtual_clock() {
    let start = time::now();
    let mut every = interval(Duration::from_secs(10));
    for k in 0..5u32 {
        let tick = every.tick().await;
        assert!(near(tick - start, Duration::from_secs(10) * k), "tick {k} at {:?}", tick - start);
        assert!(near(since(start), Duration::from_secs(10) * k));
    }
    // Missed ticks follow the virtual clock too: at 75 s, the tick due at
    // 50 s comes at once, and Skip moves the next one to 80 s.
    every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    time::advance(Duration::from_secs(35)).await;
    let late = every.tick().await;
    assert!(near(late - start, Duration::from_secs(50)), "{:?}", late - start);
    assert!(near(since(start), Duration::from_secs(75)));
    let next = every.tick().await;
    assert!(near(next - start, Duration::from_secs(80)), "{:?}", next - start);
}

/// A blocking-pool job in flight holds the jump off: its result comes from
/// another thread, and a jump would time it out before it could arrive.
#[sprout::test(paused)]
async fn a_blocking_job_in_flight_holds_the_jump() {
    let start = time::now();
    let job = spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(30));
        7
    });
    let out = timeout(Duration::from_secs(1), job).await;
    assert_eq!(out.map(|r| r.unwrap()), Ok(7));
    assert_eq!(time::now(), start, "no jump while the job ran");
}

#[sprout::test(paused)]
async fn wait_returns_once_the_timers_ran_out() {
    let start = time::now();
    let done = Rc::new(Cell::new(0));
    for secs in [5u64, 50, 500] {
        let done = done.clone();
        spawn(async move {
            sleep(Duration::from_secs(secs)).await;
            done.set(done.get() + 1);
        });
    }
    wait().await;
    assert_eq!(done.get(), 3);
    assert!(near(since(start), Duration::from_secs(500)));
    // On an idle loop, `timeout(d, wait())` returns at once: wait()'s own
    // timer is not work, and no jump fires it.
    let now = time::now();
    assert!(timeout(HOUR, wait()).await.is_ok());
    assert_eq!(time::now(), now);
}

/// Deadlines from std's clock drift from the virtual one: after an
/// advance, `Instant::now()` is behind, and its deadlines are already past.
#[sprout::test(paused, auto_advance = false)]
async fn std_instants_do_not_follow_the_virtual_clock() {
    time::advance(HOUR).await;
    let drifted = sleep_until(Instant::now() + Duration::from_secs(60));
    assert!(drifted.is_elapsed() || timeout(Duration::ZERO, drifted).await.is_ok(), "an hour behind: already due");
    assert!(time::now() > Instant::now() + HOUR - Duration::from_secs(1));
}

/// Where auto-advance cannot help: data from another thread. The peer
/// writes after 200 ms of real time; with auto-advance on, the loop finds
/// the socket silent and jumps the clock past the timeout first (the
/// caveat in `time::pause`'s docs); with it off, the read wins.
fn late_peer() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let _ = io::Write::write_all(&mut peer, b"late");
        std::thread::sleep(Duration::from_millis(50));
    });
    addr
}

#[sprout::test(paused)]
async fn data_from_another_thread_loses_against_a_jumped_timeout() {
    let stream = sprout::net::TcpStream::connect(late_peer()).await.unwrap();
    let mut buf = [0; 4];
    let start = time::now();
    assert!(timeout(Duration::from_secs(1), stream.read_exact(&mut buf)).await.is_err());
    assert!(near(since(start), Duration::from_secs(1)));
}

#[sprout::test(paused, auto_advance = false)]
async fn with_auto_advance_off_data_from_another_thread_wins() {
    let stream = sprout::net::TcpStream::connect(late_peer()).await.unwrap();
    let mut buf = [0; 4];
    let start = time::now();
    let read = timeout(Duration::from_secs(1), stream.read_exact(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(_))), "{read:?}");
    assert_eq!(&buf, b"late");
    assert_eq!(time::now(), start, "nothing moved the clock");
}
