//! At most 5 tasks in the guarded section at a time.
//!
//! Python (threading):
//! ```python
//! semaphore = threading.Semaphore(5)
//! def func():
//!     if semaphore.acquire():
//!         print(threading.current_thread().name + ' get semaphore')
//!         time.sleep(2)
//!         semaphore.release()
//! for i in range(20):
//!     threading.Thread(target=func).start()
//! ```
//!
//! Twenty tasks, five permits, 200 ms inside (Python's 2 s, shortened):
//! they go through in four waves, about 800 ms in all.
//!
//! Run: `cargo run --example semaphore`

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sprout::sync::Semaphore;

fn main() {
    sprout::run(async {
        let start = Instant::now();
        let semaphore = Rc::new(Semaphore::new(5));
        let inside = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (semaphore, inside) = (semaphore.clone(), inside.clone());
                sprout::task::Builder::new().name(format!("task-{i}")).spawn(async move {
                    let _permit = semaphore.acquire().await.expect("never closed");
                    inside.set(inside.get() + 1);
                    println!(
                        "{:>4} ms  {} get semaphore ({} inside)",
                        start.elapsed().as_millis(),
                        sprout::current().name().unwrap_or("?"),
                        inside.get()
                    );
                    assert!(inside.get() <= 5);
                    sprout::sleep(Duration::from_millis(200)).await;
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        sprout::joinall(tasks).await;
        println!("done in {} ms", start.elapsed().as_millis());
    });
}
