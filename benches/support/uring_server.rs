//! The io_uring spike: an echo server built the way the
//! io_uring authors recommend for networking, to learn whether io_uring
//! can beat the epoll floor on this machine before anyone writes a driver.
//! It is a benchmark peer, not a driver: one thread, one ring, no tasks.
//!
//! - The ring is set up `SINGLE_ISSUER` with `DEFER_TASKRUN` (task work
//!   runs only inside `io_uring_enter`, and a waiting thread is woken only
//!   when a completion is ready), or `COOP_TASKRUN`, or `SQPOLL` (see
//!   [`TaskRun`]); its file descriptor is registered, so `io_uring_enter`
//!   skips the descriptor lookup.
//! - One multishot accept on the listener; one multishot receive per
//!   connection, into a ring of provided buffers
//!   (`IORING_REGISTER_PBUF_RING`), so no buffer is held by an idle
//!   connection.
//! - A received buffer is sent back as it is (no copy) and returned to the
//!   buffer ring when its send completes. One send in flight per
//!   connection keeps the replies in order; a short send is resubmitted
//!   for the rest.
//! - Everything a loop turn queues (sends, re-armed receives, closes) is
//!   submitted by the one `io_uring_enter` that ends the turn and waits for
//!   the next completions.
//! - A receive ends when the connection does (result 0 or an error), when
//!   the buffer ring runs dry (`ENOBUFS`: re-armed once buffers come back),
//!   or when the kernel stops it for its own reasons (a completion without
//!   `IORING_CQE_F_MORE`: re-armed at once).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::{BufRingEntry, Fd, Fixed};
use io_uring::{IoUring, SubmissionQueue, Submitter, cqueue, opcode, squeue};

use crate::support::server_process::announce;

/// The provided-buffer group every receive draws from.
const GROUP: u16 = 0;
/// Submission and completion queue sizes: a turn at 1,000 connections
/// queues up to about two entries per connection.
const SQ_ENTRIES: u32 = 4096;
const CQ_ENTRIES: u32 = 16384;
/// Registered file slots, when `fixed_files` is on.
const FILE_SLOTS: u32 = 4096;

/// How the kernel runs the ring's task work (completing operations that
/// became ready outside the thread's own `io_uring_enter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskRun {
    /// `IORING_SETUP_DEFER_TASKRUN`: only inside `io_uring_enter` with
    /// `GETEVENTS`; the recommended setting for a single-threaded server.
    Defer,
    /// `IORING_SETUP_COOP_TASKRUN` with `TASKRUN_FLAG`: at the thread's next
    /// kernel crossing, without an interrupt.
    Coop,
    /// `IORING_SETUP_SQPOLL`: a kernel thread, pinned to `cpu`, takes the
    /// submissions and issues them, so a turn needs no syscall to submit.
    Sqpoll { cpu: u32, idle_ms: u32 },
}

/// One variant of the spike.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub taskrun: TaskRun,
    /// Accept into registered file slots (`IORING_FILE_INDEX_ALLOC`) and
    /// name the sockets by slot, which skips a file lookup per operation.
    pub fixed_files: bool,
    /// Send with `SEND_ZC`: the kernel sends from the buffer's pages
    /// without copying them into socket buffers, and a second completion
    /// (`IORING_CQE_F_NOTIF`) says when the buffer may be reused.
    pub zero_copy: bool,
    /// Provided buffers in the ring (a power of two) and their size.
    pub buffers: u16,
    pub buffer_size: u32,
}

impl Config {
    /// The variant a server name asks for: `uring`, then any of `-coop`,
    /// `-sqpoll`, `-fixed`, `-zc` (`uring-sqpoll-fixed`). `None` for other
    /// names.
    pub(crate) fn parse(name: &str) -> Option<Config> {
        let mut parts = name.split('-');
        if parts.next() != Some("uring") {
            return None;
        }
        let mut config =
            Config { taskrun: TaskRun::Defer, fixed_files: false, zero_copy: false, buffers: 2048, buffer_size: 4096 };
        for part in parts {
            match part {
                "coop" => config.taskrun = TaskRun::Coop,
                // Core 1 is the load client's: on this 2-core machine there
                // is no spare one, which the figures must say.
                "sqpoll" => config.taskrun = TaskRun::Sqpoll { cpu: 1, idle_ms: 50 },
                "fixed" => config.fixed_files = true,
                "zc" => config.zero_copy = true,
                _ => return None,
            }
        }
        if let Some(n) = std::env::var("SPROUT_URING_BUFFERS").ok().and_then(|s| s.parse().ok()) {
            config.buffers = n;
        }
        if let Some(n) = std::env::var("SPROUT_URING_BUFFER_SIZE").ok().and_then(|s| s.parse().ok()) {
            config.buffer_size = n;
        }
        Some(config)
    }
}

/// Builds the ring `config` asks for.
pub(crate) fn build_ring(config: &Config) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder.setup_cqsize(CQ_ENTRIES).setup_submit_all();
    match config.taskrun {
        TaskRun::Defer => builder.setup_single_issuer().setup_defer_taskrun(),
        TaskRun::Coop => builder.setup_single_issuer().setup_coop_taskrun().setup_taskrun_flag(),
        TaskRun::Sqpoll { cpu, idle_ms } => builder.setup_single_issuer().setup_sqpoll(idle_ms).setup_sqpoll_cpu(cpu),
    };
    builder.build(SQ_ENTRIES)
}

// ---------------------------------------------------------------------------
// What a completion is for: the kind in the top byte of its user data, the
// connection's key in the middle, a buffer id in the low 16 bits.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Accept = 1,
    Recv = 2,
    Send = 3,
    Close = 4,
}

fn user_data(op: Op, key: usize, bid: u16) -> u64 {
    (op as u64) << 56 | (key as u64) << 16 | u64::from(bid)
}

fn decode(data: u64) -> (Op, usize, u16) {
    let op = match data >> 56 {
        1 => Op::Accept,
        2 => Op::Recv,
        3 => Op::Send,
        _ => Op::Close,
    };
    (op, ((data >> 16) & 0xff_ffff_ffff) as usize, data as u16)
}

// ---------------------------------------------------------------------------
// The provided-buffer ring.

/// The ring of provided buffers and the memory behind it. Both are leaked:
/// the kernel may write into a buffer until the ring is torn down, and the
/// server runs until its process is killed.
struct BufRing {
    entries: *mut BufRingEntry,
    mask: u16,
    /// The tail as this side has written it; published by `publish`.
    tail: u16,
    base: *mut u8,
    size: u32,
    /// Buffers taken by the kernel and not yet given back.
    taken: u16,
    count: u16,
}

impl BufRing {
    fn register(submitter: &Submitter<'_>, count: u16, size: u32) -> io::Result<BufRing> {
        assert!(count.is_power_of_two(), "the buffer ring's size must be a power of two");
        let layout = std::alloc::Layout::from_size_align(usize::from(count) * size_of::<BufRingEntry>(), 4096)
            .expect("the ring's layout");
        // SAFETY: the layout has a non-zero size (count >= 1).
        let entries = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<BufRingEntry>();
        assert!(!entries.is_null(), "out of memory for the buffer ring");
        let base = Box::leak(vec![0u8; usize::from(count) * size as usize].into_boxed_slice()).as_mut_ptr();
        // SAFETY: `entries` points at `count` zeroed, page-aligned entries
        // that are never freed (leaked above), so they stay valid for as
        // long as the ring can use them.
        unsafe { submitter.register_buf_ring_with_flags(entries as u64, count, GROUP, 0)? };
        let mut ring = BufRing { entries, mask: count - 1, tail: 0, base, size, taken: count, count };
        for bid in 0..count {
            ring.give_back(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// Queues buffer `bid` for the kernel (visible after `publish`).
    fn give_back(&mut self, bid: u16) {
        // SAFETY: the slot is inside the ring (masked). The kernel reads
        // only the entries between its head and the published tail, and
        // this slot is free: the entries in the ring are the buffers not
        // taken, fewer than `count` while `bid` is taken, so the slot at
        // `tail` is not one of them. `bid` < `count`, so the address and
        // length lie in `base`'s block.
        let entry = unsafe { &mut *self.entries.add(usize::from(self.tail & self.mask)) };
        entry.set_addr(self.base as u64 + u64::from(bid) * u64::from(self.size));
        entry.set_len(self.size);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        self.taken -= 1;
    }

    /// Makes the queued buffers visible to the kernel (one release store).
    fn publish(&self) {
        // SAFETY: the tail field lives in the first entry of the ring
        // (`BufRingEntry::tail`), a valid, aligned u16 that the kernel only
        // reads; a release store orders the entries written before it.
        unsafe {
            let tail = BufRingEntry::tail(self.entries).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }

    /// Where buffer `bid`'s bytes from offset `from` are.
    fn bytes(&self, bid: u16, from: u32) -> *const u8 {
        // SAFETY: `bid` < `count` and `from` < `size`: inside the block.
        unsafe { self.base.add(usize::from(bid) * self.size as usize + from as usize) }
    }

    fn available(&self) -> u16 {
        self.count - self.taken
    }
}

// ---------------------------------------------------------------------------
// The server.

/// A received buffer waiting to be sent back: `bid`'s bytes `from..to`.
#[derive(Clone, Copy)]
struct Pending {
    bid: u16,
    from: u32,
    to: u32,
}

struct Conn {
    /// The socket: a file descriptor, or a registered slot (`fixed_files`).
    fd: u32,
    /// Received and not yet sent back, in order; the front one is in
    /// flight while `sending`.
    queue: VecDeque<Pending>,
    sending: bool,
    /// The multishot receive is armed (completions may still come).
    receiving: bool,
    /// The receive ended with `ENOBUFS`: re-arm when buffers come back.
    starved: bool,
    /// End of stream or an error: close once nothing is in flight.
    done: bool,
}

/// What the loop did, for `SPROUT_URING_STATS=1` (printed to stderr every
/// 2^16 completions): how often the unusual paths run.
#[derive(Default, Debug)]
struct Stats {
    turns: u64,
    completions: u64,
    /// Sends that took less than asked, resubmitted for the rest.
    short_sends: u64,
    /// Receives ended by an empty buffer ring.
    enobufs: u64,
    /// Receives the kernel ended with data (no `IORING_CQE_F_MORE`).
    restarted: u64,
    /// Extra `io_uring_enter` calls for a full submission queue.
    sq_full: u64,
}

struct Server<'a> {
    config: Config,
    stats: Stats,
    submitter: Submitter<'a>,
    sq: SubmissionQueue<'a>,
    bufs: BufRing,
    conns: slab::Slab<Conn>,
    /// Connections whose receive ended with `ENOBUFS` (see `Conn::starved`).
    starved: Vec<usize>,
    /// Zero-copy sends: per buffer, the notifications still due (a send
    /// completion with `IORING_CQE_F_MORE` adds one, the notification takes
    /// it; signed, for a notification that comes first), and whether the
    /// buffer is sent back in full and only waits for them.
    notifs_due: Vec<i32>,
    awaiting_notif: Vec<bool>,
}

impl Server<'_> {
    /// Queues `entry`; when the submission queue is full, submits first
    /// (an extra `io_uring_enter`, which a turn of 1,000 connections does
    /// not reach with 4,096 entries).
    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry this server queues points at memory that
            // outlives the operation (buffers of the leaked ring) or at none.
            if unsafe { self.sq.push(&entry) }.is_ok() {
                return;
            }
            self.stats.sq_full += 1;
            self.sq.sync();
            self.submitter.submit().expect("io_uring_enter (submit)");
            self.sq.sync();
        }
    }

    /// Builds `op` on connection `key`'s socket, by descriptor or by slot.
    fn on_socket(&self, key: usize, fd: fn(Fd) -> squeue::Entry, slot: fn(Fixed) -> squeue::Entry) -> squeue::Entry {
        let socket = self.conns[key].fd;
        if self.config.fixed_files { slot(Fixed(socket)) } else { fd(Fd(socket as RawFd)) }
    }

    fn arm_accept(&mut self, listener: RawFd) {
        let entry = opcode::AcceptMulti::new(Fd(listener)).allocate_file_index(self.config.fixed_files).build();
        self.push(entry.user_data(user_data(Op::Accept, 0, 0)));
    }

    fn arm_recv(&mut self, key: usize) {
        let entry = self.on_socket(
            key,
            |fd| opcode::RecvMulti::new(fd, GROUP).build(),
            |slot| opcode::RecvMulti::new(slot, GROUP).build(),
        );
        let c = &mut self.conns[key];
        (c.receiving, c.starved) = (true, false);
        self.push(entry.user_data(user_data(Op::Recv, key, 0)));
    }

    /// Sends the front of `key`'s queue, if nothing is in flight.
    fn send_next(&mut self, key: usize) {
        let c = &self.conns[key];
        let Some(&Pending { bid, from, to }) = c.queue.front() else { return };
        if c.sending {
            return;
        }
        let (ptr, len) = (self.bufs.bytes(bid, from), to - from);
        let entry = match (self.config.fixed_files, self.config.zero_copy) {
            (true, false) => opcode::Send::new(Fixed(c.fd), ptr, len).build(),
            (false, false) => opcode::Send::new(Fd(c.fd as RawFd), ptr, len).build(),
            (true, true) => opcode::SendZc::new(Fixed(c.fd), ptr, len).build(),
            (false, true) => opcode::SendZc::new(Fd(c.fd as RawFd), ptr, len).build(),
        };
        self.conns[key].sending = true;
        self.push(entry.user_data(user_data(Op::Send, key, bid)));
    }

    /// Closes `key` once it is done and nothing of it is in flight, so no
    /// completion can name the key after the slab reuses it.
    fn close_if_finished(&mut self, key: usize) {
        let c = &self.conns[key];
        if !c.done || c.sending || c.receiving {
            return;
        }
        let entry = self.on_socket(key, |fd| opcode::Close::new(fd).build(), |slot| opcode::Close::new(slot).build());
        let c = self.conns.remove(key);
        for p in c.queue {
            self.release(p.bid);
        }
        self.push(entry.user_data(user_data(Op::Close, 0, 0)));
    }

    fn complete(&mut self, listener: RawFd, data: u64, res: i32, flags: u32) {
        let (op, key, bid) = decode(data);
        match op {
            Op::Accept => {
                if res >= 0 {
                    let key = self.conns.insert(Conn {
                        fd: res as u32,
                        queue: VecDeque::new(),
                        sending: false,
                        receiving: false,
                        starved: false,
                        done: false,
                    });
                    self.arm_recv(key);
                }
                // Stopped (an error such as EMFILE ends it): re-arm. A lasting
                // error would re-arm every turn; a driver would back off.
                if !cqueue::more(flags) {
                    self.arm_accept(listener);
                }
            }
            Op::Recv => self.received(key, res, flags),
            Op::Send if cqueue::notif(flags) => self.notified(bid),
            Op::Send => self.sent(key, bid, res, flags),
            Op::Close => {}
        }
    }

    fn received(&mut self, key: usize, res: i32, flags: u32) {
        if res > 0 {
            let bid = cqueue::buffer_select(flags).expect("a receive into a provided buffer names it");
            self.bufs.taken += 1;
            if self.conns[key].done {
                self.bufs.give_back(bid); // a send failed: the peer is gone
            } else {
                self.conns[key].queue.push_back(Pending { bid, from: 0, to: res as u32 });
                self.send_next(key);
            }
        }
        if cqueue::more(flags) {
            return; // still armed
        }
        let c = &mut self.conns[key];
        c.receiving = false;
        if res > 0 {
            // The kernel stopped the receive for its own reasons (such as a
            // full completion queue): the connection goes on.
            self.stats.restarted += 1;
            self.arm_recv(key);
        } else if res == -libc::ENOBUFS && !c.done {
            // The ring ran dry. Re-armed at the end of the turn, once
            // sends have given buffers back.
            c.starved = true;
            self.starved.push(key);
            self.stats.enobufs += 1;
        } else {
            // End of stream (0), an error, or the cancel `sent` asked for.
            c.done = true;
            self.close_if_finished(key);
        }
    }

    /// Gives buffer `bid` back to the ring, or, while a zero-copy send of
    /// it may still read its pages, once the last notification comes.
    fn release(&mut self, bid: u16) {
        if self.notifs_due[usize::from(bid)] == 0 {
            self.bufs.give_back(bid);
        } else {
            self.awaiting_notif[usize::from(bid)] = true;
        }
    }

    /// A zero-copy send's notification: the kernel is done with the pages.
    fn notified(&mut self, bid: u16) {
        let b = usize::from(bid);
        self.notifs_due[b] -= 1;
        if self.notifs_due[b] == 0 && self.awaiting_notif[b] {
            self.awaiting_notif[b] = false;
            self.bufs.give_back(bid);
        }
    }

    fn sent(&mut self, key: usize, bid: u16, res: i32, flags: u32) {
        if cqueue::more(flags) {
            self.notifs_due[usize::from(bid)] += 1; // a zero-copy send
        }
        let c = &mut self.conns[key];
        c.sending = false;
        if res < 0 {
            // The peer is gone: drop what is queued, stop the receive (it
            // completes with ECANCELED, or has already ended), then close.
            c.done = true;
            let dropped: Vec<Pending> = c.queue.drain(..).collect();
            let receiving = c.receiving;
            for p in dropped {
                self.release(p.bid);
            }
            if receiving {
                let recv = user_data(Op::Recv, key, 0);
                self.push(opcode::AsyncCancel::new(recv).build().user_data(user_data(Op::Close, 0, 0)));
            }
            self.close_if_finished(key);
            return;
        }
        let front = c.queue.front_mut().expect("a send in flight has its buffer queued");
        debug_assert_eq!(front.bid, bid);
        front.from += res as u32;
        if front.from == front.to {
            c.queue.pop_front();
            self.release(bid);
        } else {
            self.stats.short_sends += 1;
        }
        // A short send leaves the rest at the front: it goes next.
        self.send_next(key);
        self.close_if_finished(key);
    }

    /// Re-arms receives that found the buffer ring empty, as many as there
    /// are buffers back (each will take at least one): re-arming them all
    /// would only have the rest fail again, every turn.
    fn rearm_starved(&mut self) {
        let mut budget = self.bufs.available();
        while budget > 0 {
            let Some(key) = self.starved.pop() else { return };
            // A starved connection stays in the slab (it is not `receiving`
            // but not `done` either), unless a failed send closed it; then
            // the key may name a new connection, which is not starved.
            if self.conns.get(key).is_some_and(|c| c.starved) {
                self.arm_recv(key);
                budget -= 1;
            }
        }
    }
}

/// Runs the spike `config` on a listener bound to `127.0.0.1:0`; prints the
/// address, serves until killed.
pub(crate) fn serve(config: Config) -> io::Result<()> {
    let _ = sprout::net::raise_fd_limit();
    let listener = listener()?;
    let mut ring = build_ring(&config)?;
    let (mut submitter, sq, mut cq) = ring.split();
    submitter.register_ring_fd()?;
    if config.fixed_files {
        submitter.register_files_sparse(FILE_SLOTS)?;
    }
    let bufs = BufRing::register(&submitter, config.buffers, config.buffer_size)?;
    let stats_wanted = std::env::var_os("SPROUT_URING_STATS").is_some();
    let mut server = Server {
        config,
        stats: Stats::default(),
        submitter,
        sq,
        bufs,
        conns: slab::Slab::new(),
        starved: Vec::new(),
        notifs_due: vec![0; usize::from(config.buffers)],
        awaiting_notif: vec![false; usize::from(config.buffers)],
    };
    let fd = listener.as_raw_fd();
    server.arm_accept(fd);
    announce(listener.local_addr()?);
    let mut completions: Vec<(u64, i32, u32)> = Vec::with_capacity(CQ_ENTRIES as usize);
    loop {
        server.sq.sync();
        cq.sync();
        if cq.is_empty() {
            // Submits the turn's entries and sleeps until a completion.
            match server.submitter.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => return Err(e),
            }
        } else {
            // Completions are waiting already (SQPOLL or COOP post them
            // outside this thread's enter): submit only, which with SQPOLL
            // is no syscall while its thread is awake.
            server.submitter.submit()?;
        }
        cq.sync();
        completions.extend((&mut cq).map(|e| (e.user_data(), e.result(), e.flags())));
        cq.sync();
        for &(data, res, flags) in &completions {
            server.complete(fd, data, res, flags);
        }
        let before = server.stats.completions;
        server.stats.turns += 1;
        server.stats.completions += completions.len() as u64;
        if stats_wanted && before >> 16 != server.stats.completions >> 16 {
            eprintln!("{:?}", server.stats);
        }
        completions.clear();
        server.rearm_starved();
        server.bufs.publish();
    }
}

fn listener() -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // mio's backlog, as the floor has.
    socket.listen(1024)?;
    Ok(socket.into())
}
