//! The seeds' three kinds of queue: first in first out, last in first out,
//! and smallest first.
//!
//! Python:
//! ```python
//! q = queue.Queue(3)              # FIFO
//! q.put(1); q.put('hyh'); q.put([1, 2, 3, 4])
//! print(q.get()); print(q.get()); print(q.get())
//! q = queue.LifoQueue()           # LIFO
//! ...
//! q = queue.PriorityQueue()       # smallest first
//! q.put((10, 'a')); q.put((9, 'b')); q.put((11, 'c'))
//! print(q.get()); print(q.get()); print(q.get())
//! ```
//!
//! Python's queues hold any object; a Rust queue holds one type, so the
//! mixed items become an enum. Run: `cargo run --example queue_kinds`

use sprout::queue::{LifoQueue, PriorityQueue, Queue};

/// The seed puts an int, a string and a list into one queue.
enum Item {
    Int(i64),
    Str(&'static str),
    List(Vec<i64>),
}

/// Prints an item the way Python's `print` would.
impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Int(n) => write!(f, "{n}"),
            Item::Str(s) => write!(f, "{s}"),
            Item::List(v) => write!(f, "{v:?}"),
        }
    }
}

fn items() -> [Item; 3] {
    [Item::Int(1), Item::Str("hyh"), Item::List(vec![1, 2, 3, 4])]
}

fn main() {
    sprout::run(async {
        println!("Queue (first in, first out), maxsize 3:");
        let q = Queue::new(3);
        for item in items() {
            q.put(item).await.expect("the queue is open");
        }
        assert!(q.full());
        for _ in 0..3 {
            println!("  {}", q.get().await.expect("three items were put"));
        }

        println!("LifoQueue (last in, first out):");
        let q = LifoQueue::new(0); // 0: unbounded, as in Python
        for item in items() {
            q.put(item).await.expect("the queue is open");
        }
        for _ in 0..3 {
            println!("  {}", q.get().await.expect("three items were put"));
        }

        println!("PriorityQueue (smallest first):");
        let q = PriorityQueue::new(0);
        for item in [(10, "a"), (9, "b"), (11, "c")] {
            q.put(item).await.expect("the queue is open");
        }
        for _ in 0..3 {
            println!("  {:?}", q.get().await.expect("three items were put"));
        }

        // And what a Python user reaches for next: the non-blocking forms.
        println!("get_nowait on an empty queue: {:?}", q.get_nowait());
    });
}
