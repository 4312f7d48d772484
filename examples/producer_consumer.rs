//! Producers and consumers over a `JoinableQueue` with a `maxsize`, using
//! `task_done` and `join`; then the same shape with a `Condition`.
//!
//! Python (queue):
//! ```python
//! q = queue.Queue(maxsize=3)
//! def producer(i):
//!     for n in range(4): q.put('%s-%s' % (i, n))      # blocks while 3 are queued
//! def consumer(i):
//!     while True: item = q.get(); handle(item); q.task_done()
//! ... start 3 producers and 2 consumers ...
//! q.join()                                              # every item handled
//! ```
//!
//! Python (threading.Condition):
//! ```python
//! def consumer(cond):
//!     with cond: cond.wait(); print('consumer after wait')
//! def producer(cond):
//!     with cond: cond.notify_all()
//! ```
//!
//! Run: `cargo run --example producer_consumer`

use std::rc::Rc;
use std::time::Duration;

use sprout::queue::JoinableQueue;
use sprout::sync::Condition;

async fn joinable_queue() {
    let q = Rc::new(JoinableQueue::new(3));
    let producers: Vec<_> = (0..3)
        .map(|i| {
            let q = q.clone();
            sprout::spawn(async move {
                for n in 0..4 {
                    let item = format!("{i}-{n}");
                    println!("producer {i} puts {item} (queued: {})", q.qsize());
                    q.put(item).await.unwrap(); // waits while 3 are queued
                }
            })
        })
        .collect();
    for i in 0..2 {
        let q = q.clone();
        // Consumers run forever, as in Python; they die with the runtime.
        sprout::spawn(async move {
            while let Ok(item) = q.get().await {
                sprout::sleep(Duration::from_millis(5)).await; // handle it
                println!("    consumer {i} handled {item}");
                q.task_done().unwrap();
            }
        });
    }
    sprout::joinall(producers).await;
    q.join().await; // returns once every item was marked done
    println!("all 12 items produced and handled");
}

async fn condition() {
    // The guarded state: items made and not yet taken.
    let cond = Rc::new(Condition::new(Vec::<String>::new()));
    let consumers: Vec<_> = (1..=2)
        .map(|i| {
            let cond = cond.clone();
            sprout::spawn(async move {
                let mut taken = 0;
                while taken < 3 {
                    let guard = cond.lock().await;
                    println!("consumer c{i} before wait");
                    let mut items = cond.wait_for(guard, |items| !items.is_empty()).await;
                    let item = items.remove(0);
                    println!("consumer c{i} after wait, takes {item}");
                    taken += 1;
                }
            })
        })
        .collect();
    let producer = sprout::spawn({
        let cond = cond.clone();
        async move {
            for batch in 0..3 {
                sprout::sleep(Duration::from_millis(10)).await;
                let mut items = cond.lock().await;
                items.push(format!("cake-{batch}a"));
                items.push(format!("cake-{batch}b"));
                println!("producer before notify_all (batch {batch})");
                cond.notify_all();
                println!("producer after notify_all");
            }
        }
    });
    producer.await.unwrap();
    sprout::joinall(consumers).await;
}

fn main() {
    sprout::run(async {
        println!("-- JoinableQueue(maxsize=3), 3 producers, 2 consumers --");
        joinable_queue().await;
        println!("-- Condition --");
        condition().await;
    });
}
