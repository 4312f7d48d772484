//! `multiprocessing.Pool`, the way the seeds use it, in sprout.
//!
//! The seed (004) runs `myFun(i)` (sleep 2 s, return `i + 100`) ten times
//! on `Pool(5)` with `apply_async(..., callback=end_call)`, then `close()`
//! and `join()`; then `map`, `imap_unordered` and `apply_async(...).get(timeout)`.
//!
//! Waiting work belongs in green tasks (`sprout::pool::Pool`); CPU work in
//! threads (`sprout::blocking::ThreadPool`). Both are shown.
//!
//! ```text
//! cargo run --example apply_async
//! ```

use std::time::{Duration, Instant};

use futures::StreamExt;
use sprout::blocking::ThreadPool;
use sprout::pool::Pool;

async fn my_fun(i: u64) -> u64 {
    sprout::sleep(Duration::from_millis(200)).await; // the seed's time.sleep(2), shortened
    if i == 7 {
        panic!("no luck with {i}");
    }
    i + 100
}

fn f(x: u64) -> u64 {
    x * x
}

fn main() {
    sprout::run(async {
        // p = Pool(5); for i in range(10): p.apply_async(myFun, (i,), callback=end_call, error_callback=...)
        let p = Pool::new(5);
        let start = Instant::now();
        for i in 0..10 {
            let task = p.apply_async(my_fun(i));
            task.on_ok(|v| println!("end_call {v}"));
            task.on_err(move |e| println!("error_callback for {i}: {e}"));
        }
        println!("end");
        p.close();
        p.join().await;
        println!("ten calls, five at a time: {:.1} s (2 rounds of 0.2 s)\n", start.elapsed().as_secs_f64());

        // pool.map(f, range(10)) with CPU work: threads.
        let pool = ThreadPool::new(4);
        let squares: Vec<u64> = pool.map(f, 0..10).map(Result::unwrap).collect().await;
        println!("map: {squares:?}");

        // for i in pool.imap_unordered(f, range(10)): print(i)
        let mut any_order = pool.imap_unordered(f, 0..10);
        print!("imap_unordered:");
        while let Some(square) = any_order.next().await {
            print!(" {}", square.unwrap());
        }
        println!();

        // res = pool.apply_async(f, (20,)); print(res.get(timeout=1))
        let res = pool.submit(|| f(20));
        let got = sprout::timeout(Duration::from_secs(1), res).await;
        println!("apply_async(f, (20,)).get(timeout=1) = {}", got.unwrap().unwrap());

        // res = pool.apply_async(os.getpid, ()): which worker ran it?
        let who = pool.submit(|| std::thread::current().name().map(String::from)).await.unwrap();
        println!("ran on {}", who.unwrap_or_default());

        // A green Pool's map: results in input order, an error in its place.
        let results = Pool::new(3).map(my_fun, 5..9).await;
        for (i, r) in (5..).zip(results) {
            match r {
                Ok(v) => println!("map[{i}] = {v}"),
                Err(e) => println!("map[{i}] failed: {e}"),
            }
        }

        // terminate(): stop everything now.
        let p = Pool::new(2);
        let slow: Vec<_> = (0..4).map(|i| p.apply_async(my_fun(i))).collect();
        p.terminate();
        let killed = sprout::joinall(slow).await.iter().filter(|r| r.as_ref().is_err_and(|e| e.is_killed())).count();
        println!("terminate killed {killed} of 4 calls");
        pool.close();
        pool.join().await;
    });
}
