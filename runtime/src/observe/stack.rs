//! The blocked thread's stack as a report shows it: the addresses the
//! signal handler recorded (`capture.rs`), symbolized on the monitor
//! thread, with the capture's own frames cut off the top and sprout's loop
//! cut off the bottom, so that the first frame is the blocking call and
//! the last the place where sprout polls the task.

// Only Linux captures stacks (`capture.rs`); elsewhere only the types are used.
#![cfg_attr(not(all(target_os = "linux", not(miri))), allow(dead_code))]

use std::fmt;

/// The stack of the runtime thread while a poll blocked it, innermost call
/// first: see [`BlockingReport::stack`](super::BlockingReport::stack).
/// Frames of sprout's loop below the task's poll are left out.
///
/// Debug builds have the file and line of every frame; a release build
/// has them only with `debug = "line-tables-only"` (or more) in its
/// profile, and function names only if it is not stripped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    frames: Vec<StackFrame>,
    /// Frames left out below: sprout's loop, `block_on`, `main`.
    below: usize,
}

/// One frame of a [`Stack`]: a function, and where in it the thread is.
/// A function inlined into its caller is a frame of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackFrame {
    function: Option<String>,
    file: Option<String>,
    line: Option<u32>,
}

impl Stack {
    /// The frames, innermost (the call that blocks) first.
    pub fn frames(&self) -> &[StackFrame] {
        &self.frames
    }
}

impl StackFrame {
    /// The function, demangled (`my_app::handlers::upload::{{closure}}`
    /// for the body of an `async fn`), if the binary has symbols.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// The source file, relative to the current directory when it is
    /// inside it, if the binary has line tables.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The line in [`file`](Self::file).
    pub fn line(&self) -> Option<u32> {
        self.line
    }
}

impl fmt::Display for StackFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.function.as_deref().unwrap_or("??"))?;
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, " at {file}:{line}"),
            (Some(file), None) => write!(f, " at {file}"),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Stack {
    /// One frame a line, indented by four spaces, innermost first (no
    /// newline after the last).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            let newline = if i > 0 { "\n" } else { "" };
            write!(f, "{newline}    {frame}")?;
        }
        if self.below > 0 {
            let newline = if self.frames.is_empty() { "" } else { "\n" };
            write!(f, "{newline}    ... {} more frames: sprout's loop, block_on, main", self.below)?;
        }
        Ok(())
    }
}

/// Where the capture's own frames end: the signal handler's dispatcher
/// (the registry's `extern "C" fn handler`, never inlined: the kernel
/// calls it through a pointer). Everything above it is the capture.
const HANDLER: &str = "signal_hook_registry::handler";

/// Names of the signal trampoline, the frame between the handler and the
/// interrupted code (when the unwinder can name it at all).
const TRAMPOLINE: [&str; 3] = ["restore_rt", "sigreturn", "sigtramp"];

/// Where sprout's loop calls into the task: a task's poll (`raw::poll`,
/// reached through the task's vtable, so never inlined into the loop; its
/// closure runs the future under `catch_unwind`), and for the main future
/// and posted closures, the runtime's own functions. The innermost such
/// frame is the last one shown: frames inside it are the task's (even
/// when the task calls into sprout, as `spawn` does), frames below it
/// the loop's. In a build without debug info the task's code is inlined
/// into `raw::poll`, which then stands for it.
const POLL_ENTRIES: [&str; 2] = ["sprout_runtime::task::raw::poll", "sprout_runtime::runtime::"];

/// One recorded address and what it resolved to: several frames when
/// functions were inlined there, innermost first; none without symbols.
type Resolved = Vec<StackFrame>;

/// Symbolizes the addresses of one capture (innermost first) and trims it
/// (see the module docs).
#[cfg(all(target_os = "linux", not(miri)))]
pub(crate) fn symbolize(addresses: &[usize]) -> Stack {
    let cwd = std::env::current_dir().ok().map(|d| d.display().to_string());
    let resolved: Vec<Resolved> = addresses
        .iter()
        .map(|&ip| {
            let mut frames = Vec::new();
            backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
                frames.push(StackFrame {
                    function: symbol.name().map(|name| format!("{name:#}")),
                    file: symbol.filename().map(|path| short_path(&path.display().to_string(), cwd.as_deref())),
                    line: symbol.lineno(),
                });
            });
            frames
        })
        .collect();
    trim(resolved)
}

/// No stack is ever captured here (`capture.rs`).
#[cfg(not(all(target_os = "linux", not(miri))))]
pub(crate) fn symbolize(_addresses: &[usize]) -> Stack {
    Stack { frames: Vec::new(), below: 0 }
}

/// Cuts the capture's frames off the top and the loop's off the bottom.
fn trim(resolved: Vec<Resolved>) -> Stack {
    let named = |frames: &Resolved, names: &[&str]| {
        frames.iter().any(|f| f.function.as_deref().is_some_and(|n| names.iter().any(|name| n.contains(name))))
    };
    let mut start = resolved.iter().rposition(|frames| named(frames, &[HANDLER])).map_or(0, |i| i + 1);
    if start > 0 && resolved.get(start).is_some_and(|frames| frames.is_empty() || named(frames, &TRAMPOLINE)) {
        start += 1;
    }
    let mut frames: Vec<StackFrame> = resolved.into_iter().skip(start).flatten().collect();
    let entry = |frame: &StackFrame| {
        frame.function.as_deref().is_some_and(|n| POLL_ENTRIES.iter().any(|entry| n.starts_with(entry)))
    };
    let end = frames.iter().position(entry).map_or(frames.len(), |i| i + 1);
    let below = frames.len() - end;
    frames.truncate(end);
    Stack { frames, below }
}

/// `path` relative to `cwd` when inside it; the standard library's from
/// its `library/` directory.
fn short_path(path: &str, cwd: Option<&str>) -> String {
    if let Some(rest) = cwd.and_then(|cwd| path.strip_prefix(cwd)).and_then(|rest| rest.strip_prefix('/')) {
        return rest.to_owned();
    }
    if path.starts_with("/rustc/")
        && let Some(i) = path.find("/library/")
    {
        return path[i + 1..].to_owned();
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: &str, line: u32) -> StackFrame {
        StackFrame { function: Some(function.to_owned()), file: Some(file.to_owned()), line: Some(line) }
    }

    #[test]
    fn the_capture_and_the_loop_are_cut_off() {
        let resolved = vec![
            vec![frame("backtrace::trace_unsynchronized", "bt.rs", 1)],
            vec![frame("sprout_runtime::observe::capture::imp::on_signal", "capture.rs", 2)],
            vec![frame("signal_hook_registry::handler", "lib.rs", 3)],
            vec![], // the trampoline, unnamed
            vec![frame("__GI___clock_nanosleep", "clock_nanosleep.c", 4)],
            vec![frame("std::thread::functions::sleep", "library/std/src/thread/functions.rs", 5)],
            vec![frame("app::slow::{{closure}}", "src/app.rs", 40), frame("app::outer", "src/app.rs", 50)],
            vec![frame("sprout_runtime::task::raw::poll::{{closure}}", "raw.rs", 99)],
            vec![frame("std::panicking::catch_unwind", "panicking.rs", 544)],
            vec![frame("sprout_runtime::task::raw::poll", "raw.rs", 6)],
            vec![frame("sprout_runtime::runtime::EventLoop::turn", "runtime.rs", 7)],
            vec![frame("main", "main.rs", 8)],
        ];
        let stack = trim(resolved);
        let names: Vec<&str> = stack.frames().iter().filter_map(StackFrame::function).collect();
        assert_eq!(
            names,
            [
                "__GI___clock_nanosleep",
                "std::thread::functions::sleep",
                "app::slow::{{closure}}",
                "app::outer",
                "sprout_runtime::task::raw::poll::{{closure}}"
            ]
        );
        assert_eq!(stack.below, 4);
        let text = stack.to_string();
        assert!(text.contains("    app::slow::{{closure}} at src/app.rs:40\n"), "{text}");
        assert!(text.contains("... 4 more frames"), "{text}");
    }

    #[test]
    fn a_task_that_calls_into_sprout_keeps_its_frames() {
        let resolved = vec![
            vec![frame("core::ptr::write", "ptr.rs", 1)],
            vec![frame("sprout_runtime::task::executor::Executor::spawn", "executor.rs", 2)],
            vec![frame("sprout_runtime::task::spawn", "mod.rs", 3)],
            vec![frame("app::main::{{closure}}", "src/main.rs", 4)],
            vec![frame("sprout_runtime::runtime::Runtime::try_block_on", "runtime.rs", 5)],
            vec![frame("main", "main.rs", 6)],
        ];
        let stack = trim(resolved);
        assert_eq!(stack.frames().len(), 5, "{stack}");
        assert_eq!(stack.frames()[3].function(), Some("app::main::{{closure}}"));
        assert_eq!(stack.below, 1);
    }

    #[test]
    fn a_named_trampoline_is_cut_and_a_stack_without_the_handler_is_kept_whole() {
        let resolved = vec![
            vec![frame("signal_hook_registry::handler", "lib.rs", 3)],
            vec![frame("__restore_rt", "sigaction.c", 1)],
            vec![frame("app::spin", "src/app.rs", 9)],
        ];
        let names: Vec<String> = trim(resolved).frames().iter().filter_map(|f| f.function.clone()).collect();
        assert_eq!(names, ["app::spin"]);
        let unknown = vec![vec![frame("x::y", "a.rs", 1)], vec![]];
        assert_eq!(trim(unknown).frames().len(), 1, "kept, minus the unnamed address");
    }

    #[test]
    fn paths_are_shortened() {
        assert_eq!(short_path("/work/app/src/main.rs", Some("/work/app")), "src/main.rs");
        assert_eq!(short_path("/work/application/x.rs", Some("/work/app")), "/work/application/x.rs");
        assert_eq!(
            short_path("/rustc/59807616e/library/std/src/thread/functions.rs", None),
            "library/std/src/thread/functions.rs"
        );
    }
}
