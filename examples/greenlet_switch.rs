//! The greenlet demo: two tasks pass control (and values) back and forth.
//!
//! Python (greenlet):
//! ```python
//! def test1():
//!     print(12); gr2.switch(); print(34); gr2.switch()
//! def test2():
//!     print(56); gr1.switch(); print(78)
//! gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()
//! ```
//!
//! A `Channel` has no buffer: `put` waits until the other task `get`s, so
//! "switch to the other task" is "put into its channel, then wait on
//! mine". Prints 12, 56, 34, 78, then the version that passes arguments.
//!
//! Run: `cargo run --example greenlet_switch`

use std::rc::Rc;

use sprout::queue::Channel;

/// One greenlet's inbox: a value arrives when another task switches to it.
type Inbox<T> = Rc<Channel<T>>;

/// Hands `value` to the task waiting on `to`, then waits for a switch back.
async fn switch<T>(to: &Inbox<T>, mine: &Inbox<T>, value: T) -> Option<T> {
    to.put(value).await.ok()?;
    mine.get().await.ok()
}

fn main() {
    sprout::run(async {
        let (gr1, gr2): (Inbox<()>, Inbox<()>) = (Rc::new(Channel::new()), Rc::new(Channel::new()));
        let test1 = sprout::spawn({
            let (gr1, gr2) = (gr1.clone(), gr2.clone());
            async move {
                gr1.get().await.unwrap(); // wait to be switched to
                println!("12");
                switch(&gr2, &gr1, ()).await;
                println!("34");
                gr2.put(()).await.unwrap(); // switch to test2 for good
            }
        });
        let test2 = sprout::spawn({
            let (gr1, gr2) = (gr1.clone(), gr2.clone());
            async move {
                gr2.get().await.unwrap();
                println!("56");
                switch(&gr1, &gr2, ()).await;
                println!("78");
            }
        });
        gr1.put(()).await.unwrap(); // gr1.switch()
        sprout::joinall([test1, test2]).await;

        // Switching with arguments: eat(name) and play_phone(name).
        let (eat_box, play_box): (Inbox<String>, Inbox<String>) = (Rc::new(Channel::new()), Rc::new(Channel::new()));
        let eat = sprout::spawn({
            let (eat_box, play_box) = (eat_box.clone(), play_box.clone());
            async move {
                let name = eat_box.get().await.unwrap();
                println!("{name} eat food 1");
                switch(&play_box, &eat_box, "alex".to_string()).await;
                println!("{name} eat food 2");
                play_box.put(String::new()).await.unwrap();
            }
        });
        let play = sprout::spawn({
            let (eat_box, play_box) = (eat_box.clone(), play_box.clone());
            async move {
                let name = play_box.get().await.unwrap();
                println!("{name} play 1");
                switch(&eat_box, &play_box, String::new()).await;
                println!("{name} play 2");
            }
        });
        eat_box.put("egon".to_string()).await.unwrap();
        sprout::joinall([eat, play]).await;
    });
}
