//! AFL++ target `decode_request` (see src/lib.rs and docs/fuzzing.md). Build with `cargo afl build
//! --release`; run with `cargo afl fuzz`. Not runnable on its own: use `replay` for that.
use hotline_router_fuzz::Target;

fn main() {
    // Before the fork server starts (the afl crate defers it to `fuzz!`): loaded once.
    hotline_router_fuzz::init(Target::DecodeRequest);
    afl::fuzz!(|data: &[u8]| {
        Target::DecodeRequest.run(data);
    });
}
