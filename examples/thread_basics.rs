//! The seeds' thread basics, as green tasks: start with arguments, a
//! "subclass" with a `run` method, names and `current_thread()`,
//! `join(timeout)`, daemon threads, and `active_count()`.
//!
//! Python:
//! ```python
//! def work(name): print('%s say hello' % name)
//! t = Thread(target=work, args=('hyh',)); t.start()
//! class Work(Thread):
//!     def __init__(self, name): super().__init__(); self.name = name
//!     def run(self): print('%s say hello' % self.name)
//! t = Work('hyh'); t.start()
//! t.setDaemon(True); t.join()
//! print(threading.enumerate(), threading.active_count())
//! print('main thread', threading.current_thread().getName())
//! ```
//!
//! Run: `cargo run --example thread_basics`

use std::time::Duration;

use sprout::{JoinHandle, current, spawn, task};

/// `Thread(target=work, args=('hyh',))`: a task is just an async function call.
async fn work(name: &'static str) {
    println!("{name} say hello (running in task {})", current().id());
}

/// `class Work(Thread)`: a struct whose `run` is the task's body.
struct Work {
    name: String,
}

impl Work {
    async fn run(self) {
        sprout::sleep(Duration::from_millis(20)).await;
        println!("{} say hello, from task {:?}", self.name, current().name());
    }

    /// `start()`: spawn `run` as a task named after the worker.
    fn start(self) -> JoinHandle<()> {
        task::Builder::new().name(self.name.clone()).spawn(self.run())
    }
}

fn main() {
    sprout::run(async {
        spawn(work("hyh")).await.expect("work does not fail");

        let mut worker = Work { name: String::from("Thread-1") }.start();
        println!("started {:?}, alive: {}", worker.name(), !worker.is_finished());
        // join(timeout): still running after 1 ms, done within a second.
        assert!(worker.join_timeout(Duration::from_millis(1)).await.is_none());
        println!("join(timeout=0.001) returned; still alive: {}", !worker.is_finished());
        worker.join_timeout(Duration::from_secs(1)).await.expect("finishes in time").expect("does not fail");

        // A "daemon": dropping the handle detaches the task. Daemon or not,
        // every task dies with the runtime, as daemon threads do with Python.
        drop(spawn(async {
            sprout::sleep(Duration::from_secs(3600)).await;
            println!("never printed: the program ends first");
        }));

        // threading.active_count() counts the main thread too.
        println!("active_count: {}", task::active_count() + 1);
        println!("main thread: {:?} (task {})", current().name(), current().id());
    });
}
