//! Any text as a `filter=` expression, for users and groups; whatever parses is evaluated
//! against a rendered resource (typed comparisons, value paths, dateTime parsing).
#![no_main]

use inlet_fuzz::{rendered_group, rendered_user};
use inlet_shared::scim::filter::{matches, parse};
use inlet_shared::scim::schema::{GROUP_TYPE, USER_TYPE};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::LazyLock;

static USER: LazyLock<Value> = LazyLock::new(rendered_user);
static GROUP: LazyLock<Value> = LazyLock::new(rendered_group);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (rt, resource) in [(&USER_TYPE, &*USER), (&GROUP_TYPE, &*GROUP)] {
        if let Ok(filter) = parse(text, rt) {
            let _ = matches(&filter, resource, rt);
            let _ = filter.required_equalities();
        }
    }
});
