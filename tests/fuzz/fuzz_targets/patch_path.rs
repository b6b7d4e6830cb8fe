//! Any text as a PATCH `path`, for users and groups; whatever parses is resolved against
//! the schema.
#![no_main]

use inlet_shared::scim::path::PatchPath;
use inlet_shared::scim::schema::{GROUP_TYPE, USER_TYPE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for rt in [&USER_TYPE, &GROUP_TYPE] {
        if let Ok(path) = PatchPath::parse(text, rt) {
            let _ = path.attr.locate(rt);
        }
    }
});
