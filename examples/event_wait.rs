//! The "wait for the database check" demo, with `Event::wait_timeout`.
//!
//! Python (threading):
//! ```python
//! def conn_mysql():
//!     while not event.is_set():
//!         print('%s waiting for the connection...' % current_thread().name)
//!         event.wait(0.1)
//!     print('MySQL is up, %s connects' % current_thread().name)
//! def check_mysql():
//!     print('checking MySQL...')
//!     time.sleep(random.randint(1, 3))
//!     event.set()
//! ```
//!
//! Here two green tasks poll every 100 ms while a third "checks" for
//! 350 ms (shortened from Python's seconds) and then sets the event.
//!
//! Run: `cargo run --example event_wait`

use std::rc::Rc;
use std::time::{Duration, Instant};

use sprout::sync::Event;

async fn conn_mysql(db_ready: Rc<Event>) {
    let me = sprout::current();
    let name = me.name().unwrap_or("?");
    while !db_ready.is_set() {
        println!("{name} waiting for the connection to MySQL...");
        db_ready.wait_timeout(Duration::from_millis(100)).await;
    }
    println!("MySQL is up, {name} connects");
}

async fn check_mysql(db_ready: Rc<Event>) {
    println!("checking MySQL...");
    sprout::sleep(Duration::from_millis(350)).await;
    db_ready.set();
}

fn main() {
    sprout::run(async {
        let start = Instant::now();
        let db_ready = Rc::new(Event::new());
        let tasks = vec![
            sprout::task::Builder::new().name("t1").spawn(conn_mysql(db_ready.clone())),
            sprout::task::Builder::new().name("t2").spawn(conn_mysql(db_ready.clone())),
            sprout::task::Builder::new().name("t3").spawn(check_mysql(db_ready.clone())),
        ];
        sprout::joinall(tasks).await;
        println!("all connected after {} ms", start.elapsed().as_millis());
    });
}
