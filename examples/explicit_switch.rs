//! gevent's first demo: two greenlets hand the thread to each other with
//! `gevent.sleep(0)`.
//!
//! Python (gevent):
//! ```python
//! def foo():
//!     print('Running in foo')
//!     gevent.sleep(0)
//!     print('Explicit context switch to foo again')
//! def bar():
//!     print('Explicit context to bar')
//!     gevent.sleep(0)
//!     print('Implicit context switch back to bar')
//! gevent.joinall([gevent.spawn(foo), gevent.spawn(bar)])
//! ```
//!
//! `sprout::yield_now().await` is `gevent.sleep(0)`: the task goes to the
//! back of the run queue and the next ready one runs. Tasks run in the
//! order they were woken, so the four lines come out as in gevent. The
//! example checks that order and exits non-zero if it ever changes.
//!
//! Run: `cargo run --example explicit_switch`

use std::cell::RefCell;
use std::rc::Rc;

/// Prints `line` and notes it, so `main` can check the order.
fn say(said: &RefCell<Vec<&'static str>>, line: &'static str) {
    println!("{line}");
    said.borrow_mut().push(line);
}

fn main() {
    let said = Rc::new(RefCell::new(Vec::new()));
    sprout::run({
        let said = said.clone();
        async move {
            let foo_task = sprout::spawn({
                let said = said.clone();
                async move {
                    say(&said, "Running in foo");
                    sprout::yield_now().await; // gevent.sleep(0)
                    say(&said, "Explicit context switch to foo again");
                }
            });
            let bar_task = sprout::spawn({
                let said = said.clone();
                async move {
                    say(&said, "Explicit context to bar");
                    sprout::yield_now().await;
                    say(&said, "Implicit context switch back to bar");
                }
            });
            sprout::joinall([foo_task, bar_task]).await;
        }
    });
    assert_eq!(
        *said.borrow(),
        [
            "Running in foo",
            "Explicit context to bar",
            "Explicit context switch to foo again",
            "Implicit context switch back to bar",
        ],
        "the switches came in another order than gevent's"
    );
}
