use std::time::{Duration, Instant};
use sprout::*;

#[test]
fn smoke() {
    let v = run(async {
        let a = spawn(async { 1 });
        let b = spawn(async { sleep(Duration::from_millis(20)).await; 2 });
        let t = Instant::now();
        let r = joinall([a, b]).await;
        assert!(t.elapsed() >= Duration::from_millis(20));
        r.into_iter().map(|x| x.unwrap()).sum::<i32>()
    });
    assert_eq!(v, 3);
}
