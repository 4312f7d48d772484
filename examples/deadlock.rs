//! Deadlock with two locks taken in opposite order: first as sprout
//! reports it by itself (the deadlock report, docs/debugging.md), then
//! found by hand with `lock_timeout`, then fixed with an `RLock`, as in
//! the seed.
//!
//! Python (threading):
//! ```python
//! class MyThread(Thread):
//!     def run(self): self.func1(); self.func2()
//!     def func1(self):
//!         mutexA.acquire(); print('%s get A lock' % self.name)
//!         mutexB.acquire(); print('%s get B lock' % self.name)
//!         mutexB.release(); mutexA.release()
//!     def func2(self):
//!         mutexB.acquire(); print('%s get B lock' % self.name)
//!         time.sleep(2)
//!         mutexA.acquire(); print('%s get A lock' % self.name)
//!         mutexA.release(); mutexB.release()
//! ```
//! Thread-1 holds B and sleeps in func2 while Thread-2, in func1, holds A
//! and waits for B: stuck forever. With `mutexA = mutexB = RLock()` the
//! same code runs through.
//!
//! Run: `cargo run --example deadlock`

use std::rc::Rc;
use std::time::Duration;

use sprout::Runtime;
use sprout::sync::{Lock, RLock};

const PATIENCE: Duration = Duration::from_millis(300);

/// Part 1: the seed's code as it is, with plain `lock()`. Thread-1 holds B
/// and sleeps while Thread-2 holds A and waits for B; then Thread-1 waits
/// for A. Nothing can ever wake either: `try_block_on` returns the report
/// (`sprout::run` would panic with it).
async fn seed_as_is(name: &'static str, a: Rc<Lock<()>>, b: Rc<Lock<()>>) {
    // func1
    {
        let _a = a.lock().await;
        println!("{name} get A lock");
        let _b = b.lock().await;
        println!("{name} get B lock");
    }
    // func2
    let _b = b.lock().await;
    println!("{name} get B lock");
    sprout::sleep(Duration::from_millis(50)).await;
    let _a = a.lock().await;
    println!("{name} get A lock");
}

/// Part 2: two plain locks. A task that cannot get its second lock within
/// `PATIENCE` reports the deadlock and backs off (dropping what it holds).
async fn with_two_locks(name: String, a: Rc<Lock>, b: Rc<Lock>) -> bool {
    // func1
    {
        let _a = a.lock().await;
        println!("{name} get A lock");
        let Ok(_b) = b.lock_timeout(PATIENCE).await else {
            println!("{name}: deadlock! no B lock after {PATIENCE:?} while holding A; backing off");
            return false;
        };
        println!("{name} get B lock");
    }
    // func2
    let _b = b.lock().await;
    println!("{name} get B lock");
    sprout::sleep(Duration::from_millis(50)).await;
    let Ok(_a) = a.lock_timeout(PATIENCE).await else {
        println!("{name}: deadlock! no A lock after {PATIENCE:?} while holding B; backing off");
        return false;
    };
    println!("{name} get A lock");
    true
}

/// Part 3: one reentrant lock stands for both, as in the seed's fix.
async fn with_rlock(name: String, mutex: Rc<RLock>) {
    // func1
    {
        let _a = mutex.lock().await;
        println!("{name} get A lock");
        let _b = mutex.lock().await; // the same task may take it again
        println!("{name} get B lock");
    }
    // func2
    let _b = mutex.lock().await;
    println!("{name} get B lock");
    sprout::sleep(Duration::from_millis(50)).await;
    let _a = mutex.lock().await;
    println!("{name} get A lock");
}

fn main() {
    println!("-- two Locks, taken in opposite order, as in the seed --");
    let rt = Runtime::new().expect("runtime");
    let report = rt.try_block_on(async {
        let (a, b) = (Rc::new(Lock::new(())), Rc::new(Lock::new(())));
        let tasks: Vec<_> = ["Thread-1", "Thread-2"]
            .into_iter()
            .map(|name| sprout::task::Builder::new().name(name).spawn(seed_as_is(name, a.clone(), b.clone())))
            .collect();
        sprout::joinall(tasks).await;
    });
    match report {
        Ok(()) => println!("both tasks finished: no deadlock this time"),
        Err(deadlock) => println!("{deadlock}"),
    }
    drop(rt);

    sprout::run(async {
        println!("-- two Locks, with lock_timeout --");
        let (a, b) = (Rc::new(Lock::new(())), Rc::new(Lock::new(())));
        let tasks: Vec<_> =
            (1..=3).map(|i| sprout::spawn(with_two_locks(format!("task-{i}"), a.clone(), b.clone()))).collect();
        let finished = sprout::joinall(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        println!("{finished} of 3 tasks finished; the others detected the deadlock");

        println!("-- one RLock --");
        let mutex = Rc::new(RLock::new(()));
        let tasks: Vec<_> = (1..=3).map(|i| sprout::spawn(with_rlock(format!("task-{i}"), mutex.clone()))).collect();
        sprout::joinall(tasks).await;
        println!("all 3 tasks finished: no deadlock");
    });
}
