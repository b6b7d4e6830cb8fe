//! Any bytes as a PatchOp body: parsed, then applied to a realistic normalised user and
//! group (each on a fresh copy, as the domain does before committing).
#![no_main]

use inlet_fuzz::{group_body, normalized, user_body};
use inlet_shared::scim::patch::{apply, parse};
use inlet_shared::scim::schema::{GROUP_TYPE, USER_TYPE};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static USER: LazyLock<Map<String, Value>> = LazyLock::new(|| normalized(&user_body(), &USER_TYPE));
static GROUP: LazyLock<Map<String, Value>> = LazyLock::new(|| normalized(&group_body(), &GROUP_TYPE));

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    for (rt, attrs) in [(&USER_TYPE, &*USER), (&GROUP_TYPE, &*GROUP)] {
        if let Ok(ops) = parse(&body, rt) {
            let mut attrs = attrs.clone();
            let _ = apply(&mut attrs, &ops, rt);
        }
    }
});
