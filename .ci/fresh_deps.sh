#!/usr/bin/env bash
# Fresh dependencies stay clean (issue 21, item 7): lints the workspace
# against the newest semver-compatible release of every dependency, the
# versions a new user's `cargo add sprout` resolves to, instead of the
# ones Cargo.lock holds. A deprecation or a break in a new upstream
# release fails here, before a user meets it.
#
# Works on a scratch copy of the tree (the working tree as it is, edits
# included; not target/ or .git), so the repository's Cargo.lock is never
# touched. The copy shares this tree's target directory: dependencies
# that did not move are not built again, and the moved ones and the
# copy's own crates get artifacts of their own (their hashes differ), so
# nothing of the main build is overwritten. The copy is removed on exit.
#
# The resolver is told to ignore `rust-version` (`allow`): a user on a
# newer toolchain than the workspace's minimum gets releases that need
# it, and those are the ones to check (docs/DEPENDENCIES.md, "Minimum
# Rust version").
#
# With no network to crates.io (`cargo update` fails) the step is skipped
# with a warning, as .ci/run skips Miri without nightly; any other
# failure fails the step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac

# A fixed place, inside the target directory: the copy's crates keep the
# same package ids (they include the path) from run to run, so their
# artifacts replace the last run's instead of piling up beside them.
scratch=$target/fresh-deps
rm -rf "$scratch"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$scratch"
cd "$scratch"

if ! CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=allow cargo update 2>"$scratch/update.log"; then
    cat "$scratch/update.log" >&2
    echo "warning: cargo update failed (no network to crates.io?); the fresh-dependencies step is skipped" >&2
    exit 0
fi
# What moved, against the repository's lock: the log of a failure below
# then names the suspects.
grep -E '^ +(Updating|Adding|Removing)' "$scratch/update.log" || echo "(Cargo.lock is already at the newest versions)"

export CARGO_TARGET_DIR=$target
# Every target (lib, tests, examples, benches) with every feature, as
# .ci/run's second clippy; `-D warnings` makes rustc's own warnings
# (deprecations, unused imports after an upstream re-export moves)
# errors too. Then the libraries alone with default features: what
# `cargo add sprout` compiles, a build whose feature set differs. (Not
# the default features on every target too: that repeats most of the
# first run's dependency builds for little more coverage, and CI's time
# is counted.)
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo clippy --workspace --lib -- -D warnings
