#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::domain::TenantId;
use crate::domain::tenant::{Mode, Settings};
use crate::startup::{Services, Storage};

fn new(org: &str) -> NewIntegration {
    NewIntegration {
        domain: "https://acme.okta.com".into(),
        app_id: "0oaApp1".into(),
        org_id: org.into(),
        interval_seconds: DEFAULT_INTERVAL_SECONDS,
        token: "00secret-token".into(),
    }
}

async fn services(dir: &std::path::Path) -> Services {
    Services::build(&Storage::Embedded { data_dir: dir.into() }).await.unwrap()
}

fn id(t: &str) -> TenantId {
    TenantId::parse(t).unwrap()
}

async fn tenant(s: &Services, t: &str, mode: Mode) {
    let settings = Settings { mode, ..Settings::default() };
    s.tenants.create(&id(t), None, settings).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_rules_hold_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let all: Vec<TenantId> = ["pushed", "a", "b", "c"].iter().map(|t| id(t)).collect();
    tenant(&s, "pushed", Mode::Scim).await;
    for t in ["a", "b", "c"] {
        tenant(&s, t, Mode::OktaApi).await;
    }
    let i = &s.integrations;
    assert!(matches!(i.configure(&s.tenants, &id("pushed"), new("00oOrg1")).await, Err(PullError::Refused(_))));
    assert!(i.get(&id("pushed")).await.unwrap().is_none());
    assert!(i.token(&id("pushed")).await.unwrap().is_none(), "a refused configure stores no token");

    // Two tenants configure one org at once: exactly one wins.
    let (a, b) = (id("a"), id("b"));
    let (ra, rb) =
        tokio::join!(i.configure(&s.tenants, &a, new("00oOrg1")), i.configure(&s.tenants, &b, new("00oOrg1")));
    assert_eq!(u8::from(ra.is_ok()) + u8::from(rb.is_ok()), 1, "{ra:?} {rb:?}");
    let (winner, loser) = if ra.is_ok() { ("a", "b") } else { ("b", "a") };
    assert!(i.get(&id(loser)).await.unwrap().is_none());
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());

    // One integration per tenant; re-configuring the same org (a new token) is fine.
    assert!(matches!(i.configure(&s.tenants, &id(winner), new("00oOrg2")).await, Err(PullError::Refused(_))));
    let again = NewIntegration { token: "00new-token".into(), ..new("00oOrg1") };
    i.configure(&s.tenants, &id(winner), again).await.unwrap();
    assert_eq!(i.token(&id(winner)).await.unwrap().as_deref(), Some("00new-token"));
    assert!(
        matches!(i.configure(&s.tenants, &id("c"), new("00oOrg1")).await, Err(PullError::Refused(m)) if m.contains(winner))
    );

    // Disabled: the org is free again, the token blanked, the due list empty of it.
    i.disable(&id(winner)).await.unwrap();
    assert!(i.token(&id(winner)).await.unwrap().is_none());
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());
    i.configure(&s.tenants, &id("c"), new("00oOrg1")).await.unwrap();
    assert_eq!(state::due(i.table().as_ref(), time::OffsetDateTime::now_utc(), 10).await.unwrap(), vec![id("c")]);
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_lease_takers_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    tenant(&s, "a", Mode::OktaApi).await;
    s.integrations.configure(&s.tenants, &id("a"), new("00oOrg1")).await.unwrap();
    let table = s.integrations.table().as_ref();
    let (st, v) = state::read(table, &id("a")).await.unwrap().unwrap();
    let take = |owner: &str| state::SyncState {
        lease: Some(state::Lease { owner: owner.into(), until: state::at_offset(60) }),
        ..st.clone()
    };
    let (a, tx, ty) = (id("a"), take("x"), take("y"));
    let (x, y) = tokio::join!(state::swap(table, &a, &tx, v), state::swap(table, &a, &ty, v));
    assert_eq!(u8::from(x.unwrap().is_some()) + u8::from(y.unwrap().is_some()), 1);
}
