//! multiprocessing's shared state (`Value`, `Array`, `Manager`), ported.
//!
//! Python (multiprocessing):
//! ```python
//! def f(n, a):
//!     n.value = 3.1415927
//!     for i in range(len(a)):
//!         a[i] = -a[i]
//! num = Value('d', 0.0); arr = Array('i', range(10))
//! p = Process(target=f, args=(num, arr)); p.start(); p.join()
//! print(num.value); print(arr[:])
//!
//! def g(d, l):
//!     d[1] = '1'; d['2'] = 2; d[0.25] = None
//!     l.reverse()
//! with Manager() as manager:
//!     d = manager.dict(); l = manager.list(range(10))
//!     p = Process(target=g, args=(d, l)); p.start(); p.join()
//!     print(d); print(l)
//! ```
//!
//! Python needs processes (and so shared memory or a manager process) to
//! use more than one core. Rust threads already run in parallel and share
//! memory, so the port hands `Arc`s to a job on sprout's blocking pool
//! (`spawn_blocking`, the `Process`): `Value` and `Array` become an
//! `Arc<Mutex<f64>>` and an `Arc<Mutex<Vec<i32>>>`, the manager's proxies an
//! `Arc<Mutex<BTreeMap>>` (Python's mixed key types become strings) and an
//! `Arc<Mutex<Vec>>`. The green task that
//! awaits the job (`p.join()`) lets the loop run meanwhile. For work that
//! must run in another process, see `examples/process_pool.rs`.
//!
//! Run: `cargo run --example shared_state`

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn main() {
    sprout::run(async {
        // Value('d', 0.0) and Array('i', range(10)).
        let num = Arc::new(Mutex::new(0.0_f64));
        let arr = Arc::new(Mutex::new((0..10).collect::<Vec<i32>>()));
        let job = sprout::spawn_blocking({
            let (num, arr) = (num.clone(), arr.clone());
            move || {
                *num.lock().unwrap() = std::f64::consts::PI; // the seed's 3.1415927
                for a in arr.lock().unwrap().iter_mut() {
                    *a = -*a;
                }
            }
        });
        job.await.expect("the job ran"); // p.join()
        println!("{}", num.lock().unwrap());
        println!("{:?}", arr.lock().unwrap());
        assert_eq!(*arr.lock().unwrap(), [0, -1, -2, -3, -4, -5, -6, -7, -8, -9]);

        // manager.dict() and manager.list(range(10)).
        let d = Arc::new(Mutex::new(BTreeMap::<String, Option<String>>::new()));
        let l = Arc::new(Mutex::new((0..10).collect::<Vec<i32>>()));
        let job = sprout::spawn_blocking({
            let (d, l) = (d.clone(), l.clone());
            move || {
                let mut d = d.lock().unwrap();
                d.insert("1".into(), Some("1".into()));
                d.insert("2".into(), Some("2".into()));
                d.insert("0.25".into(), None);
                l.lock().unwrap().reverse();
            }
        });
        job.await.expect("the job ran");
        println!("{:?}", d.lock().unwrap());
        println!("{:?}", l.lock().unwrap());
        assert_eq!(*l.lock().unwrap(), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    });
}
