//! The classic gevent switching demo, from the seeds.
//!
//! `eat` sleeps 2 s and `play_phone` 1 s. Both run at once on one thread, so
//! the whole takes about 2 s, not 3: each `sleep` switches to the other task.
//! Then the seeds' `threading.Timer(3, hello)`, as `spawn_later`.
//!
//! ```text
//! cargo run --release --example switching               # 2 s + 3 s
//! cargo run --release --example switching -- --scale 0.01  # 20 ms + 30 ms
//! ```

use std::time::{Duration, Instant};

async fn eat(scale: f64) {
    println!("eat food 1");
    sprout::sleep(Duration::from_secs_f64(2.0 * scale)).await;
    println!("eat food 2");
}

async fn play_phone(scale: f64) {
    println!("play phone 1");
    sprout::sleep(Duration::from_secs_f64(scale)).await;
    println!("play phone 2");
}

fn scale_from_args() -> f64 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--scale") {
        Some(i) => match args.get(i + 1).and_then(|s| s.parse::<f64>().ok()) {
            Some(s) if s > 0.0 && s.is_finite() => s,
            _ => {
                eprintln!("usage: switching [--scale FACTOR]   (FACTOR > 0, e.g. 0.01)");
                std::process::exit(2);
            }
        },
        None => 1.0,
    }
}

fn main() {
    let scale = scale_from_args();
    sprout::run(async move {
        let start = Instant::now();
        let g1 = sprout::spawn(eat(scale));
        let g2 = sprout::spawn(play_phone(scale));
        for result in sprout::joinall([g1, g2]).await {
            result.expect("the demo tasks do not fail");
        }
        let took = start.elapsed();
        println!("master");
        println!("took {took:.2?}: the sleeps overlapped ({} s in sequence)", 3.0 * scale);

        // threading.Timer(3, hello): run a function after a delay.
        let timer = sprout::spawn_later(Duration::from_secs_f64(3.0 * scale), async { println!("hello, world") });
        timer.await.expect("the timer task does not fail");
    });
}
