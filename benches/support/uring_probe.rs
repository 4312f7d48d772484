//! What this kernel's io_uring offers the spike (`uring_echo -- --probe`):
//! each ring setup the spike can use, the features the kernel reports,
//! the opcodes it knows, and the registrations it accepts. Whatever it
//! refuses is printed with the error, so the report can say so.

use io_uring::types::BufRingEntry;
use io_uring::{IoUring, Probe, opcode};

use crate::uring_server::{Config, TaskRun, build_ring};

/// Prints the probe's findings.
pub(crate) fn report() {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_else(|_| "?".into()).trim().to_string();
    println!(
        "kernel {}, kernel.io_uring_disabled = {}",
        read("/proc/sys/kernel/osrelease"),
        read("/proc/sys/kernel/io_uring_disabled")
    );

    println!("ring setups:");
    let spike = |taskrun| Config { taskrun, fixed_files: false, zero_copy: false, buffers: 8, buffer_size: 4096 };
    let setups = [
        ("SINGLE_ISSUER + DEFER_TASKRUN", spike(TaskRun::Defer)),
        ("SINGLE_ISSUER + COOP_TASKRUN + TASKRUN_FLAG", spike(TaskRun::Coop)),
        ("SINGLE_ISSUER + SQPOLL (cpu 1)", spike(TaskRun::Sqpoll { cpu: 1, idle_ms: 50 })),
    ];
    for (name, config) in setups {
        println!("  {name:<48} {}", verdict(build_ring(&config).map(drop)));
    }

    let ring = match IoUring::new(64) {
        Ok(ring) => ring,
        Err(e) => return println!("a plain ring failed: {e}; nothing else to probe"),
    };
    let p = ring.params();
    println!("features:");
    let features = [
        ("NODROP", p.is_feature_nodrop()),
        ("FAST_POLL", p.is_feature_fast_poll()),
        ("EXT_ARG", p.is_feature_ext_arg()),
        ("NATIVE_WORKERS", p.is_feature_native_workers()),
        ("CQE_SKIP", p.is_feature_skip_cqe_on_success()),
        ("RECVSEND_BUNDLE", p.is_feature_recvsend_bundle()),
        ("MIN_TIMEOUT", p.is_feature_min_timeout()),
        ("NO_IOWAIT", p.is_feature_no_iowait()),
    ];
    for (name, has) in features {
        println!("  {name:<48} {}", if has { "yes" } else { "NO" });
    }

    println!("opcodes:");
    let mut probe = Probe::new();
    match ring.submitter().register_probe(&mut probe) {
        Err(e) => println!("  IORING_REGISTER_PROBE refused: {e}"),
        Ok(()) => {
            let codes = [
                ("ACCEPT (multishot with IORING_ACCEPT_MULTISHOT)", opcode::Accept::CODE),
                ("RECV (multishot with IORING_RECV_MULTISHOT)", opcode::Recv::CODE),
                ("SEND", opcode::Send::CODE),
                ("SEND_ZC (zero-copy send)", opcode::SendZc::CODE),
                ("RECV_ZC (zero-copy receive)", opcode::RecvZc::CODE),
                ("CLOSE", opcode::Close::CODE),
                ("ASYNC_CANCEL", opcode::AsyncCancel::CODE),
            ];
            for (name, code) in codes {
                println!("  {name:<48} {}", if probe.is_supported(code) { "yes" } else { "NO" });
            }
        }
    }

    println!("registrations:");
    let mut submitter = ring.submitter();
    println!("  {:<48} {}", "RING_FDS (registered ring fd)", verdict(submitter.register_ring_fd()));
    println!("  {:<48} {}", "FILES (sparse table, 64 slots)", verdict(submitter.register_files_sparse(64)));
    for (bgid, flags, name) in [(1, 0, "PBUF_RING (provided-buffer ring)"), (2, 2, "PBUF_RING with IOU_PBUF_RING_INC")]
    {
        // A small ring of entries, leaked: the kernel holds its address
        // until the ring (dropped at the end of this function) is gone.
        let layout = std::alloc::Layout::from_size_align(8 * size_of::<BufRingEntry>(), 4096).unwrap();
        // SAFETY: the layout's size is not zero.
        let entries = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!entries.is_null(), "out of memory");
        // SAFETY: 8 zeroed, page-aligned entries that are never freed.
        let registered = unsafe { submitter.register_buf_ring_with_flags(entries as u64, 8, bgid, flags) };
        println!("  {name:<48} {}", verdict(registered));
    }
}

fn verdict(result: std::io::Result<()>) -> String {
    match result {
        Ok(()) => "yes".into(),
        Err(e) => format!("REFUSED: {e}"),
    }
}
